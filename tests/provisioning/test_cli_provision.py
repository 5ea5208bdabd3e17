"""`lineguard provision device`: every step at once, and running it twice changes nothing."""

from __future__ import annotations

from lineguard.cli import main
from lineguard_provision.registry import list_devices


def _tree(root):
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()}


def test_device_twice_changes_nothing(tmp_path, capsys):
    fleet = tmp_path / "fleet"
    argv = ["provision", "device", "clinic-7", "--site", "Mapo", "--installer", "kim", "--fleet-dir", str(fleet),
            "--broker-url", "mqtts://broker.example:8883", "--country", "US"]
    assert main(argv) == 0
    first = _tree(fleet)
    assert (fleet / "devices/clinic-7/seed/user-data").exists()
    assert main(argv) == 0
    assert _tree(fleet) == first
    out = capsys.readouterr().out
    assert "already registered" in out and "(unchanged)" in out
    assert [(e.device_id, e.site, e.installer) for e in list_devices(fleet)] == [("clinic-7", "Mapo", "kim")]


def test_a_failed_step_is_rerun_alone(tmp_path, capsys):
    fleet = tmp_path / "fleet"
    assert main(["provision", "seed", "clinic-7", "--fleet-dir", str(fleet)]) == 2
    assert "provision identity clinic-7" in capsys.readouterr().err
    assert main(["provision", "identity", "clinic-7", "--fleet-dir", str(fleet)]) == 0
    assert main(["provision", "seed", "clinic-7", "--fleet-dir", str(fleet)]) == 0
    assert main(["provision", "seed", "clinic-7", "--fleet-dir", str(fleet), "--broker-url", "ftp://x"]) == 2
    assert "url" in capsys.readouterr().err
