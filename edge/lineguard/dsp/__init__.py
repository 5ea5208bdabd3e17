"""Line-audio DSP at 8 kHz: caller ID (FSK, DTMF), DTMF digits, call-progress tones."""
