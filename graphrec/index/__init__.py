"""graphrec.index"""
