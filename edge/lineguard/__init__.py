"""LineGuard: call protection for analog landlines."""

__version__ = "0.1.0"
