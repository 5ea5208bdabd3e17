"""Country profiles: line timings and tones.

Values marked ``None`` are not known from public sources for that country;
they fall back to the generic default and can be set in the config and
measured on site by the installer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lineguard.errors import ConfigError


@dataclass(frozen=True)
class CountryProfile:
    code: str
    ring_on_s: float | None
    ring_off_s: float | None
    release_ms: int                 # loop open this long releases the call
    flash_ms: int                   # hook-flash break
    caller_id: str                  # "bell202" | "v23" | "dtmf" | "unknown"
    dial_tone_hz: tuple[float, ...]
    busy_hz: tuple[float, ...] | None
    busy_on_off_s: tuple[float, float] | None
    reorder_on_off_s: tuple[float, float] | None
    ringback_hz: tuple[float, ...] | None
    ringback_on_off_s: tuple[float, float] | None

    @property
    def ring_cadence_s(self) -> tuple[float, float]:
        return (self.ring_on_s or 2.0, self.ring_off_s or 4.0)


PROFILES: dict[str, CountryProfile] = {
    "US": CountryProfile("US", 2.0, 4.0, 2000, 600, "bell202", (350.0, 440.0),
                         (480.0, 620.0), (0.5, 0.5), (0.25, 0.25), (440.0, 480.0), (2.0, 4.0)),
    "DE": CountryProfile("DE", 1.0, 4.0, 2000, 110, "v23", (425.0,),
                         (425.0,), (0.48, 0.48), (0.24, 0.24), (425.0,), (1.0, 4.0)),
    # Korea: dial tone known; ring cadence, CID format and busy/reorder not confirmed.
    "KR": CountryProfile("KR", None, None, 2000, 600, "unknown", (350.0, 440.0),
                         None, None, None, None, None),
}


def profile_for(code: str) -> CountryProfile:
    try:
        return PROFILES[code]
    except KeyError:
        raise ConfigError("device.country", [("device.country", f"no profile for {code!r}")]) from None


def with_overrides(profile: CountryProfile, overrides: dict[str, object]) -> CountryProfile:
    """The profile with site-measured values (``line.profile`` in the config) put in; None keeps a value."""
    changes = {key: value for key, value in overrides.items() if value is not None}
    unknown = set(changes) - set(CountryProfile.__dataclass_fields__)
    if unknown:
        raise ConfigError("line.profile", [(f"line.profile.{key}", "not a profile value") for key in sorted(unknown)])
    return replace(profile, **changes)


def site_profile(settings) -> CountryProfile:
    """The country profile of ``device.country`` with the ``line.profile`` overrides applied."""
    return with_overrides(profile_for(settings.device.country), settings.line.profile.model_dump())
