"""The one root exception and its families.

Every error LineGuard raises derives from :class:`LineGuardError`; each
subclass also inherits the builtin that best describes it, so callers can
catch either.
"""

from __future__ import annotations


class LineGuardError(Exception):
    """Root of every LineGuard error."""


class ConfigError(LineGuardError, ValueError):
    """A configuration file or document is invalid.

    ``problems`` lists every error found as ``(where, key, why)`` tuples.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {key}: {why}" for key, why in self.problems]
        super().__init__("invalid configuration\n  " + "\n  ".join(lines))


class AudioFormatError(LineGuardError, ValueError):
    """An audio file or buffer is not in a format we can use."""


class DeviceError(LineGuardError, OSError):
    """A hardware device is missing, unplugged or misbehaving."""


class ModelError(LineGuardError, RuntimeError):
    """The keyword model cannot be loaded or run."""


class ProtocolError(LineGuardError, ValueError):
    """Bytes or messages from a peer do not follow the protocol."""


class SafetyError(LineGuardError, RuntimeError):
    """An action would leave the line in an unsafe state."""
