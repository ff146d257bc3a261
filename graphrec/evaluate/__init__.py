"""graphrec.evaluate"""
