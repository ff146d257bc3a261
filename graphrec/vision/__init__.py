"""graphrec.vision"""
