"""``lineguard selftest``: prove on site that every part of the gateway works."""
