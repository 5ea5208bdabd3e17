"""The line: what the line-sense hardware tells us, and call tracking."""
