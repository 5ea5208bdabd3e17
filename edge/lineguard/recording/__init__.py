"""Call recording and evidence."""
