"""``make central``: a local broker, a few simulated gateways and the console, in one command."""

from __future__ import annotations

import logging
import random
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from lineguard_central.broker import LocalMosquitto
from lineguard_central.config import CentralSettings, DatabaseSettings, MqttSettings, WebSettings
from lineguard_central.server import CentralServer, add_user, free_port
from lineguard_central.sim import SimulatedGateway

log = logging.getLogger(__name__)
DEMO_USERS = (("operator", "operator", "lineguard-operator"), ("viewer", "viewer", "lineguard-viewer"))
DEMO_FLEET = (("seoul-mapo-01", "Seoul Mapo clinic"), ("seoul-mapo-02", "Seoul Mapo clinic"),
              ("busan-haeundae-01", "Busan Haeundae shop"), ("daegu-jung-01", "Daegu Jung pharmacy"),
              ("incheon-air-01", "Incheon airport kiosk"))
BACKFILL_DAYS, CALLS_PER_DAY = 21, 14
REPLAY_DEVICE, REPLAY_SITE = "seoul-gangnam-01", "Seoul Gangnam dental clinic"
REPLAY_PAUSE_S = 20.0


def _caller(gateway: SimulatedGateway, stop: threading.Event, speed: float, mean_gap_s: float) -> None:
    rng = random.Random(gateway.device_id)
    while not stop.wait(rng.expovariate(1.0 / mean_gap_s)):
        gateway.play_call(speed=speed, stop=stop)
        if rng.random() < 0.3:
            gateway.publish_health()


def _replayer(port: int, stop: threading.Event, procs: list[subprocess.Popen[bytes]]) -> None:
    """One more gateway: the real pipeline (keyword model included) replaying the bundled demo call
    through ``lineguard replay --realtime --mqtt``, again and again."""
    from lineguard.app import DEMO_CALL
    command = [sys.executable, "-m", "lineguard.cli", "replay", str(DEMO_CALL), "--realtime",
               "--mqtt", f"mqtt://127.0.0.1:{port}", "--device-id", REPLAY_DEVICE]
    while not stop.is_set():
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(proc)
        _, stderr = proc.communicate()
        if proc.returncode != 0 and not stop.is_set():
            log.warning("the replaying gateway stopped (lineguard replay exited %d): %s", proc.returncode,
                        stderr.decode(errors="replace").strip()[-400:])
            return
        stop.wait(REPLAY_PAUSE_S)


def _stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


def run_demo(db_path: Path, web_port: int, speed: float = 8.0, mean_gap_s: float = 4.0) -> None:
    with ExitStack() as cleanup:
        broker = LocalMosquitto(free_port()).start()
        cleanup.callback(broker.stop)
        settings = CentralSettings(
            mqtt=MqttSettings(url=f"mqtt://127.0.0.1:{broker.port}"),
            database=DatabaseSettings(url=f"sqlite:///{db_path}"),
            web=WebSettings(port=web_port, offline_after_s=600))
        server = CentralServer(settings)
        for username, role, password in DEMO_USERS:
            add_user(server.db, username, role, password)
        server.start()
        cleanup.callback(server.stop)
        for device_id, site in DEMO_FLEET:
            server.writer.set_site(device_id, site)
        fleet = [SimulatedGateway(device_id, "127.0.0.1", broker.port, seed=i).start()
                 for i, (device_id, _) in enumerate(DEMO_FLEET)]
        for gateway in fleet[:-1]:
            cleanup.callback(gateway.stop)
        if server.queries.event_count() == 0:
            for gateway in fleet:
                gateway.backfill(BACKFILL_DAYS, CALLS_PER_DAY)
        fleet[-1].stop(clean=False)        # one box drops off the network: its last will marks it offline
        stop = threading.Event()
        for gateway in fleet[:-1]:
            threading.Thread(target=_caller, args=(gateway, stop, speed, mean_gap_s), daemon=True).start()
        server.writer.set_site(REPLAY_DEVICE, REPLAY_SITE)
        procs: list[subprocess.Popen[bytes]] = []
        cleanup.callback(_stop_all, procs)
        cleanup.callback(stop.set)           # runs first (last in): no new replay starts while stopping
        threading.Thread(target=_replayer, args=(broker.port, stop, procs), daemon=True).start()
        print(f"\n  LineGuard Central demo: {server.url}\n"
              + "".join(f"  log in as {u} / {p}  ({r})\n" for u, r, p in DEMO_USERS)
              + f"  {len(fleet)} simulated gateways and {REPLAY_DEVICE} (lineguard replay of the bundled call)"
              + f" on mqtt://127.0.0.1:{broker.port}; Ctrl-C to stop\n", flush=True)
        try:
            while True:
                time.sleep(1.0)
        except KeyboardInterrupt:
            log.info("stopping the demo")
