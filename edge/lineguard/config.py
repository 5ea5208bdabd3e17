"""Settings: one TOML file, read once into frozen, validated models.

A bad file is rejected before anything starts, with every problem listed
as ``file: key: why``. Every key and its default is documented in
``docs/config.md``.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lineguard.errors import ConfigError

DETECTOR_RATE_HZ = 8000


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeviceSettings(_Section):
    id: str = Field("lineguard-dev", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    site: str = ""
    country: Literal["KR", "US", "DE"] = "KR"
    language: Literal["ko", "en"] = "ko"


class AudioSettings(_Section):
    backend: Literal["simulated", "pyaudio"] = "simulated"
    input_device: str = ""           # substring of the PyAudio device name; "" = default
    output_device: str = ""
    sample_rate_hz: int = 48000
    channels: Literal[1, 2] = 2
    far_end_channel: int = Field(0, ge=0, le=1)
    near_end_channel: int = Field(1, ge=0, le=1)
    block_ms: int = Field(20, ge=5, le=200)
    prompt_level_dbfs: float = Field(-16.0, le=-3.0, ge=-60.0)
    output_gain_db: float = Field(0.0, ge=-40.0, le=20.0)

    @field_validator("sample_rate_hz")
    @classmethod
    def _multiple_of_detector_rate(cls, value: int) -> int:
        if value <= 0 or value % DETECTOR_RATE_HZ:
            raise ValueError(f"must be a positive multiple of {DETECTOR_RATE_HZ} (8000, 16000, 48000 ...)")
        return value

    @model_validator(mode="after")
    def _distinct_channels(self) -> AudioSettings:
        if self.channels == 2 and self.far_end_channel == self.near_end_channel:
            raise ValueError("far_end_channel and near_end_channel must differ with 2 channels")
        return self


class RelaySettings(_Section):
    backend: Literal["simulated", "gpio"] = "simulated"
    pin: int = Field(17, ge=0, le=40)              # BCM numbering
    active_high: bool = True                      # level that energizes the coil
    release_ms: int | None = Field(None, ge=200, le=10000)  # None: country profile default
    max_energized_ms: int = Field(8000, ge=500, le=15000)   # hard bound, enforced in code
    flash_ms: int | None = Field(None, ge=50, le=1500)      # hook flash; None: country profile
    hangup_action: Literal["release", "flash"] = "release"
    button_pin: int | None = Field(None, ge=0, le=40)       # manual trigger button (BCM)
    retry_release_ms: int | None = Field(None, ge=200, le=14000)  # None: 2 x release_ms (within the bound)
    verify_window_ms: int | None = Field(None, ge=200, le=10000)   # after re-closing: wait for proof; None: country


_Hz = Field(gt=0.0, lt=4000.0)
_Secs = Field(gt=0.0, le=30.0)


class LineProfileOverrides(_Section):
    """Country-profile values measured on site; None keeps the profile's own value."""

    ring_on_s: float | None = Field(None, gt=0.0, le=10.0)
    ring_off_s: float | None = Field(None, gt=0.0, le=20.0)
    caller_id: Literal["bell202", "v23", "dtmf", "unknown"] | None = None
    dial_tone_hz: tuple[Annotated[float, _Hz], ...] | None = Field(None, min_length=1, max_length=3)
    busy_hz: tuple[Annotated[float, _Hz], ...] | None = Field(None, min_length=1, max_length=3)
    busy_on_off_s: tuple[Annotated[float, _Secs], Annotated[float, _Secs]] | None = None
    reorder_on_off_s: tuple[Annotated[float, _Secs], Annotated[float, _Secs]] | None = None
    ringback_hz: tuple[Annotated[float, _Hz], ...] | None = Field(None, min_length=1, max_length=3)
    ringback_on_off_s: tuple[Annotated[float, _Secs], Annotated[float, _Secs]] | None = None


class LineSettings(_Section):
    backend: Literal["simulated", "board", "modem"] = "simulated"
    port: str = ""                 # e.g. /dev/ttyACM0
    baudrate: int = 115200
    reconnect_delay_s: float = Field(2.0, ge=0.1, le=60.0)    # retry opening an unplugged board/modem
    silence_timeout_s: float = Field(3.0, ge=1.5, le=60.0)    # board: no frame this long = fault, reconnect
    decode_audio: bool = True      # hardware: caller ID, DTMF and tones from the line audio
    profile: LineProfileOverrides = LineProfileOverrides()


class DetectorSettings(_Section):
    model_path: Path | None = None   # None: the shipped model in models/
    languages: tuple[Literal["ko", "en"], ...] = ("ko", "en")
    keywords: tuple[str, ...] = ()   # empty: every keyword of the enabled languages
    default_threshold: float | None = Field(None, gt=0.0, lt=1.0)  # None: the model's own
    thresholds: dict[str, float] = {}
    refractory_s: float = Field(1.0, ge=0.0, le=10.0)
    near_end_margin_db: float = Field(3.0, ge=-20.0, le=40.0)

    @field_validator("thresholds")
    @classmethod
    def _in_unit_interval(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if not 0.0 < v < 1.0]
        if bad:
            raise ValueError(f"thresholds must be in (0, 1): {', '.join(sorted(bad))}")
        return value


class PolicySettings(_Section):
    warnings_before_final: int = Field(1, ge=0, le=5)
    threat_skips_to_final: bool = True
    severities: dict[str, Literal["abuse", "threat", "ignore"]] = {}
    announce_at_start: bool = False
    ignore_after_prompt_s: float = Field(0.5, ge=0.0, le=5.0)
    long_call_warning_s: float = Field(0.0, ge=0.0)   # 0 disables
    long_call_grace_s: float = Field(60.0, ge=0.0)
    extend_s: float = Field(300.0, ge=0.0)
    manual_dtmf_code: str = Field("*9", pattern=r"^[0-9*#A-D]{1,8}$")
    extend_dtmf_code: str = Field("*8", pattern=r"^[0-9*#A-D]{1,8}$")


class RecordingSettings(_Section):
    enabled: bool = True
    dir: Path = Path("var")                            # recordings/ and evidence/ go under it
    segment_ms: int = Field(1000, ge=100, le=5000)     # at most this much audio is lost on a power cut
    fsync: bool = True                                 # force each segment to the disk
    encrypt: bool = False                              # AES-256-GCM at rest, key from key_file
    key_file: Path | None = None                       # 32-byte key: raw, hex or base64 (provisioning)
    evidence: Literal["terminated", "all", "off"] = "terminated"   # which calls get an evidence bundle
    retention_days: int = Field(90, ge=0)              # 0: keep forever (quota still applies)
    quota_mb: int = Field(4096, ge=0)                  # 0: no quota
    min_free_mb: int = Field(200, ge=0)                # below this free space: prune, else stop recording

    @model_validator(mode="after")
    def _key_for_encryption(self) -> RecordingSettings:
        if self.encrypt and self.key_file is None:
            raise ValueError("encrypt = true needs key_file (the recording key from provisioning)")
        return self


class PromptSettings(_Section):
    files: dict[str, Path] = {}                        # site recordings per prompt id, e.g. warning = "..."
    full_scale_dbm: float = Field(0.0, ge=-30.0, le=20.0)   # line level (dBm, 600 ohm) of a full-scale sine
    max_line_dbm: float = Field(-9.0, ge=-40.0, le=-9.0)    # prompts never louder than this on the line
    max_length_s: float = Field(20.0, ge=1.0, le=120.0)     # a site prompt longer than this is refused
    min_level_dbfs: float = Field(-45.0, ge=-80.0, le=-10.0)  # a site prompt quieter than this is refused


class DemoSettings(_Section):
    audio: Path | None = None   # None: the bundled demo call
    rings: int = Field(2, ge=0, le=10)
    realtime: bool = True


class MqttSettings(_Section):
    """Central reporting over MQTT (see docs/mqtt.md)."""

    enabled: bool = False
    url: str = Field("mqtts://localhost:8883", pattern=r"^mqtts?://[A-Za-z0-9._-]+(:[0-9]{1,5})?/?$")
    username: str = ""                      # "" = the device id
    password_file: Path | None = None       # the device's own password, one line
    ca_file: Path | None = None             # CA that signed the broker's certificate (mqtts://)
    cert_file: Path | None = None           # optional client certificate (mutual TLS)
    key_file: Path | None = None
    keepalive_s: int = Field(30, ge=5, le=3600)
    reconnect_min_s: float = Field(1.0, gt=0.0, le=60.0)
    reconnect_max_s: float = Field(120.0, gt=0.0, le=3600.0)
    outbox_path: Path = Path("var/mqtt/outbox.sqlite")
    outbox_max_events: int = Field(20000, ge=10)
    outbox_max_bytes: int = Field(16 * 1024 * 1024, ge=4096)
    health_interval_s: float = Field(60.0, ge=1.0, le=86400.0)
    state_dir: Path = Path("var/mqtt")      # applied remote settings, installed updates
    update_public_key_file: Path | None = None   # Ed25519 public key (PEM) that signs updates
    ha_discovery: bool = False
    ha_prefix: str = Field("homeassistant", pattern=r"^[A-Za-z0-9_-]{1,64}$")


class CallerListEntrySettings(_Section):
    list: Literal["allow", "block"]
    kind: Literal["exact", "prefix", "pattern"] = "exact"
    value: str = Field(..., min_length=1, max_length=32)
    note: str = ""
    added_by: str = ""
    expires_at: str = ""      # ISO 8601; empty = never


class CentralFlagSettings(_Section):
    number: str = Field(..., min_length=1, max_length=32)
    reason: Literal["abuse", "threat"] = "abuse"
    expires_at: datetime


class CallersSettings(_Section):
    list_file: Path = Path("var/callers.csv")
    flags_db: Path = Path("var/flags.db")
    entries: tuple[CallerListEntrySettings, ...] = ()   # pushed centrally, added to the local list file
    withheld: Literal["allow", "block"] = "allow"
    first_ring: Literal["pass", "suppress"] = "pass"
    repeat_action: Literal["none", "notice", "strict", "block"] = "strict"
    repeat_days: float = Field(30.0, ge=0.0, le=3650.0)
    share_flags: bool = False
    max_suppress_s: float = Field(90.0, ge=5.0, le=180.0)   # longest the phone side is kept disconnected
    central_flags: tuple[CentralFlagSettings, ...] = ()      # the organisation's flags (used with share_flags)


class ClipSettings(_Section):
    enabled: bool = False
    dir: Path = Path("var/clips")
    pre_s: float = Field(2.0, ge=0.0, le=10.0)
    post_s: float = Field(2.0, ge=0.0, le=10.0)
    retention_days: float = Field(30.0, ge=0.0)
    max_clips: int = Field(1000, ge=1)


class Settings(_Section):
    device: DeviceSettings = DeviceSettings()
    audio: AudioSettings = AudioSettings()
    relay: RelaySettings = RelaySettings()
    line: LineSettings = LineSettings()
    detector: DetectorSettings = DetectorSettings()
    policy: PolicySettings = PolicySettings()
    recording: RecordingSettings = RecordingSettings()
    prompts: PromptSettings = PromptSettings()
    demo: DemoSettings = DemoSettings()
    mqtt: MqttSettings = MqttSettings()
    callers: CallersSettings = CallersSettings()
    clips: ClipSettings = ClipSettings()


def parse_settings(data: dict[str, Any], source: str = "<settings>") -> Settings:
    """Validate a settings mapping; raise ConfigError listing every problem."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = [(_key_path(err["loc"]), err["msg"]) for err in exc.errors()]
        raise ConfigError(source, problems) from None


def load_settings(path: Path | None) -> Settings:
    """Read a TOML file (or defaults when ``path`` is None)."""
    if path is None:
        return Settings()
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), [("(file)", exc.strerror or str(exc))]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [("(file)", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [("(syntax)", str(exc))]) from None
    return parse_settings(data, str(path))


def _key_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(root)"
