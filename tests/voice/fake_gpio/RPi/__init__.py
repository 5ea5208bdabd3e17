"""A fake ``RPi`` package (see GPIO.py)."""
