"""graphrec.collect"""
