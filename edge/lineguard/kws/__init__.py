"""Keyword spotting: features, the streaming TFLite spotter, and its factory."""
