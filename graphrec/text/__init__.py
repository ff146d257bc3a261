"""graphrec.text"""
