from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lineguard.config import Settings, load_settings
from lineguard.errors import ConfigError, LineGuardError

GOOD = """
[device]
id = "shop-12"
country = "US"
language = "en"

[audio]
sample_rate_hz = 16000
channels = 1

[policy]
warnings_before_final = 2
long_call_warning_s = 900
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_valid_and_frozen():
    settings = Settings()
    assert settings.audio.backend == "simulated" and settings.policy.warnings_before_final == 1
    with pytest.raises(Exception):
        settings.device.id = "x"


def test_good_file_loads(tmp_path):
    s = load_settings(write(tmp_path, GOOD))
    assert s.device.id == "shop-12" and s.audio.sample_rate_hz == 16000 and s.policy.long_call_warning_s == 900


def test_every_error_is_listed_with_file_and_key(tmp_path):
    path = write(tmp_path, """
[audio]
sample_rate_hz = 44100
channels = 3
[relay]
pin = 99
bogus = 1
[detector]
thresholds = { ko_ssibal = 1.5 }
[policy]
warnings_before_final = "two"
""")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    err = info.value
    keys = {key for key, _ in err.problems}
    assert {"audio.sample_rate_hz", "audio.channels", "relay.pin", "relay.bogus", "detector.thresholds",
            "policy.warnings_before_final"} <= keys
    assert str(path) in str(err)
    assert isinstance(err, LineGuardError) and isinstance(err, ValueError)


@pytest.mark.parametrize("text, key", [
    ("[audio\nchannels = 2", "(syntax)"),
    ("[unknown_section]\nx = 1", "unknown_section"),
    ("[device]\ncountry = \"FR\"", "device.country"),
    ("[audio]\nchannels = 2\nfar_end_channel = 1\nnear_end_channel = 1", "audio"),
    ("[policy]\nmanual_dtmf_code = \"*9x\"", "policy.manual_dtmf_code"),
    ("[policy]\nseverities = { ko_ssibal = \"mild\" }", "policy.severities.ko_ssibal"),
])
def test_bad_files(tmp_path, text, key):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert any(k == key for k, _ in info.value.problems), info.value.problems


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ConfigError, match="No such file"):
        load_settings(tmp_path / "nope.toml")
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(path)


def test_check_config_command(tmp_path):
    lineguard = Path(sys.executable).parent / "lineguard"
    ok = subprocess.run([lineguard, "check-config", write(tmp_path, GOOD)], capture_output=True, text=True)
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = subprocess.run([lineguard, "check-config", write(tmp_path, "[relay]\npin = -1\nmax_energized_ms = 1")],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "relay.pin" in bad.stderr and "relay.max_energized_ms" in bad.stderr
