"""graphrec.embed"""
