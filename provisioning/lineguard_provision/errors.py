"""Provisioning errors (part of the LineGuard error family)."""

from __future__ import annotations

from lineguard.errors import LineGuardError


class ProvisionError(LineGuardError, RuntimeError):
    """A provisioning step cannot be carried out (names what and where)."""


class BundleError(ProvisionError):
    """A device bundle on disk is incomplete, inconsistent or unsafe."""
