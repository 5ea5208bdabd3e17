"""The loopback gain written into the settings file."""

from __future__ import annotations

import pytest

from lineguard.cli import main
from lineguard.config import load_settings
from lineguard.errors import ConfigError
from lineguard_provision.selftest.calibration import set_output_gain


def test_inserts_then_replaces_and_keeps_comments(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('# site config\n[device]\nid = "a"\n\n[audio]  # the USB box\ninput_device = "USB"\n')
    path.chmod(0o640)
    assert set_output_gain(path, -2.04) is True
    assert load_settings(path).audio.output_gain_db == -2.0
    assert set_output_gain(path, -2.0) is False
    assert set_output_gain(path, 3.0) is True
    text = path.read_text()
    assert text.count("output_gain_db") == 1 and text.startswith("# site config\n")
    assert load_settings(path).audio.output_gain_db == 3.0 and (path.stat().st_mode & 0o777) == 0o640


def test_adds_an_audio_section_and_refuses_invalid_values(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[device]\nid = "a"\n')
    set_output_gain(path, -5.0)
    assert load_settings(path).audio.output_gain_db == -5.0
    before = path.read_text()
    with pytest.raises(ConfigError, match="output_gain_db"):
        set_output_gain(path, 99.0)
    assert path.read_text() == before


def test_selftest_apply_gain(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text('[device]\nid = "a"\ncountry = "US"\n')
    assert main(["selftest", "--config", str(path), "--only", "loopback", "--apply-gain", "--json"]) == 0
    assert load_settings(path).audio.output_gain_db == pytest.approx(-2.0, abs=0.5)
    assert "written to" in capsys.readouterr().err
