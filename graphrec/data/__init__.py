"""graphrec.data"""
