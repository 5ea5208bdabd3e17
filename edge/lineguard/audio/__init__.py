"""Audio: the AudioPort seam, WAV I/O, resampling and levels."""
