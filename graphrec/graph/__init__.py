"""graphrec.graph"""
