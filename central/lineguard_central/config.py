"""Central settings: one TOML file, read once into frozen, validated models.

Every key and its default is documented in ``docs/central.md``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lineguard.errors import ConfigError

TOPIC_ROOT = "lineguard/v1"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MqttSettings(_Section):
    url: str = Field("mqtt://127.0.0.1:1883", pattern=r"^mqtts?://[^/:]+(:\d+)?/?$")
    username: str = ""
    password: str = ""
    ca_file: Path | None = None            # TLS: CA that signed the broker's certificate
    client_id: str = Field("", pattern=r"^[A-Za-z0-9_-]{0,64}$")   # "" = generated, no persistent session
    session_expiry_s: int = Field(86400, ge=0, le=30 * 86400)    # with a client_id: the broker keeps our queue
    share_group: str = Field("lineguard-central", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    topic_root: str = TOPIC_ROOT
    keepalive_s: int = Field(30, ge=5, le=600)
    batch_max: int = Field(500, ge=1, le=10000)          # events per database transaction


class DatabaseSettings(_Section):
    url: str = Field("sqlite:///var/central/central.db", pattern=r"^(sqlite:///.+|postgresql://.+)$")


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    session_hours: float = Field(12.0, gt=0.0, le=24.0 * 30)
    secret: str = ""                       # "" = generated once and kept in the database
    refresh_s: float = Field(3.0, ge=0.5, le=60.0)   # live pages poll this often
    offline_after_s: float = Field(180.0, ge=10.0)   # "silent" when online but nothing heard this long
    command_timeout_s: float = Field(30.0, gt=0.0, le=600.0)  # a command unanswered this long: "no answer"


class CentralSettings(_Section):
    mqtt: MqttSettings = MqttSettings()
    database: DatabaseSettings = DatabaseSettings()
    web: WebSettings = WebSettings()


def parse_central_settings(data: dict[str, Any], source: str = "<central settings>") -> CentralSettings:
    """Validate a settings mapping; raise ConfigError listing every problem."""
    try:
        return CentralSettings.model_validate(data)
    except ValidationError as exc:
        problems = [(".".join(str(p) for p in err["loc"]) or "(root)", err["msg"]) for err in exc.errors()]
        raise ConfigError(source, problems) from None


def load_central_settings(path: Path | None) -> CentralSettings:
    """Read a TOML file, or the defaults when ``path`` is None."""
    if path is None:
        return CentralSettings()
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), [("(file)", exc.strerror or str(exc))]) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(path), [("(syntax)", str(exc))]) from None
    return parse_central_settings(data, str(path))
