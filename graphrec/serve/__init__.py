"""graphrec.serve"""
