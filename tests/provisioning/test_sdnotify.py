"""sd_notify over a real datagram socket, as systemd listens for it."""

from __future__ import annotations

import socket

from lineguard.daemon import with_heartbeat
from lineguard.sdnotify import Notifier


def _listener(tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    return sock, str(path)


def _drain(sock) -> list[str]:
    out = []
    sock.setblocking(False)
    try:
        while True:
            out.append(sock.recv(4096).decode())
    except BlockingIOError:
        return out


def test_ready_once_then_watchdog_at_half_interval(tmp_path):
    sock, path = _listener(tmp_path)
    now = [0.0]
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "10000000"}, monotonic=lambda: now[0])
    assert notifier.watchdog_interval_s == 5.0
    for t in (0.0, 1.0, 4.9, 5.0, 9.0, 10.0):
        now[0] = t
        notifier.heartbeat()
    messages = _drain(sock)
    assert messages[0].startswith("READY=1\nSTATUS=")
    assert messages[1:] == ["WATCHDOG=1"] * 3        # at 0, 5 and 10 s
    notifier.stopping()
    sock.setblocking(True)
    assert sock.recv(100) == b"STOPPING=1"


def test_abstract_socket_address(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0lineguard-test-notify")
    sock.settimeout(2.0)
    Notifier({"NOTIFY_SOCKET": "@lineguard-test-notify"}).ready()
    assert sock.recv(100).startswith(b"READY=1")
    sock.close()


def test_without_systemd_nothing_happens():
    notifier = Notifier({})
    assert not notifier.enabled
    notifier.heartbeat()
    notifier.stopping()


def test_gateway_loop_check_beats_and_forwards(tmp_path):
    sock, path = _listener(tmp_path)
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
    answers = iter([False, True])
    check = with_heartbeat(lambda gw: next(answers), notifier)
    assert check(None) is False and check(None) is True
    assert _drain(sock)[0].startswith("READY=1")
