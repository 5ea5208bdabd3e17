"""Caller memory: allow and block lists, repeat-abuser flags, review clips."""
