"""Load check for the central console (a benchmark, not a test).

1. Ingest: N simulated gateways (in a separate process) publish E events each,
   as fast as they can, to a local Mosquitto; the ingester stores them. We
   report events/s from the first publish to the last commit.
2. Pages: a database with 1 million stored events (built once, kept under
   var/central/), then the median time of the console's main pages over HTTP.

    .venv/bin/python central/scripts/bench_central.py [--devices 20] [--events 1000]
        [--page-events 1000000] [--db postgresql://...] [--pages-only]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import multiprocessing as mp
import random
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from lineguard_central.broker import LocalMosquitto
from lineguard_central.calls import script_call
from lineguard_central.config import CentralSettings, DatabaseSettings, MqttSettings, WebSettings
from lineguard_central.server import CentralServer, add_user, free_port
from lineguard_central.store import Queries, Writer, open_database
from lineguard_central.wire import parse_event

DAY_S = 86400.0
PAGE_REPEATS = 5


def _publishers(port: int, devices: int, events: int, ready: mp.Event, go: mp.Event) -> None:
    from lineguard_central.sim import SimulatedGateway
    fleet = [SimulatedGateway(f"bench-{i:04d}", "127.0.0.1", port, seed=i, max_inflight=500).start()
             for i in range(devices)]
    rng = random.Random(1)
    calls = [[item.event for item in script_call(rng)] for _ in range(64)]
    ready.set()
    go.wait()
    for n in range(events):
        for gateway in fleet:
            gateway.emit(calls[n % len(calls)][0].replace(event_id=f"{gateway.device_id}-{n:08d}"))
    for gateway in fleet:
        gateway.stop()


def bench_ingest(db_url: str, devices: int, events: int) -> float:
    broker = LocalMosquitto(free_port()).start()
    settings = CentralSettings(mqtt=MqttSettings(url=f"mqtt://127.0.0.1:{broker.port}"),
                               database=DatabaseSettings(url=db_url), web=WebSettings(port=0))
    server = CentralServer(settings).start()
    ready, go = mp.Event(), mp.Event()
    proc = mp.Process(target=_publishers, args=(broker.port, devices, events, ready, go))
    proc.start()
    ready.wait(60)
    before = server.queries.event_count()
    total = devices * events
    start = time.perf_counter()
    go.set()
    while server.queries.event_count() - before < total:
        time.sleep(0.05)
        if time.perf_counter() - start > 600:
            raise SystemExit("ingest did not finish in 10 minutes")
    elapsed = time.perf_counter() - start
    proc.join(30)
    server.stop()
    broker.stop()
    return total / elapsed


def build_page_db(db_url: str, target: int, devices: int = 200, days: int = 90) -> int:
    db = open_database(db_url)
    writer, queries = Writer(db), Queries(db)
    have = queries.event_count()
    if have >= target:
        return have
    rng = random.Random(7)
    now = time.time()
    for i in range(devices):
        writer.set_site(f"dev-{i:04d}", f"Site {i // 4:03d}")
    batch, stored, started = [], have, time.perf_counter()
    while stored < target:
        device = f"dev-{rng.randrange(devices):04d}"
        start_s = now - rng.uniform(0, days * DAY_S)
        for item in script_call(rng):
            wire = item.event.to_wire()
            wire.update(seq=stored, boot_id="bench", ts=time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_s + item.offset_s)))
            batch.append(parse_event(device, wire["type"], _json(wire)))
        if len(batch) >= 5000:
            stored += writer.ingest(batch, now)
            batch.clear()
            print(f"\r  building: {stored:,} events ({stored / (time.perf_counter() - started):,.0f}/s)",
                  end="", flush=True)
    print()
    db.close()
    return stored


def _json(wire: dict) -> bytes:
    import json
    return json.dumps(wire, separators=(",", ":")).encode()


def bench_pages(db_url: str) -> dict[str, float]:
    broker = LocalMosquitto(free_port()).start()
    settings = CentralSettings(mqtt=MqttSettings(url=f"mqtt://127.0.0.1:{broker.port}"),
                               database=DatabaseSettings(url=db_url), web=WebSettings(port=0))
    server = CentralServer(settings)
    add_user(server.db, "bench", "viewer", "bench-password")
    server.start()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    opener.open(server.url + "/login", urllib.parse.urlencode(
        {"username": "bench", "password": "bench-password", "next": "/"}).encode()).read()
    incident = server.db.rows("SELECT call_id, device_id, keyword FROM events WHERE incident = 1 "
                                  "ORDER BY ts_s DESC LIMIT 1")[0]
    pages = {
        "fleet /": "/", "incidents": "/incidents", "incidents ?site=": "/incidents?site=Site+007",
        "incidents ?keyword=": f"/incidents?keyword={incident['keyword']}",
        "incidents ?reason=threat": "/incidents?reason=threat",
        "incidents ?from=&to= (1 week)": "/incidents?from={}&to={}".format(
            time.strftime("%Y-%m-%d", time.gmtime(time.time() - 40 * DAY_S)),
            time.strftime("%Y-%m-%d", time.gmtime(time.time() - 33 * DAY_S))),
        "stats 90 days": "/stats?days=90", "device": f"/devices/{incident['device_id']}",
        "call timeline": f"/calls/{incident['call_id']}",
    }
    out = {}
    for name, path in pages.items():
        opener.open(server.url + path).read()       # warm: templates compiled, worker thread connected
        times = []
        for _ in range(PAGE_REPEATS):
            t0 = time.perf_counter()
            body = opener.open(server.url + path).read()
            times.append(time.perf_counter() - t0)
            assert b"<html" in body, name
        out[name] = statistics.median(times)
    server.stop()
    broker.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--events", type=int, default=1000, help="events per device")
    parser.add_argument("--page-events", type=int, default=1_000_000)
    parser.add_argument("--db", default="", help="postgresql://... (default: SQLite files)")
    parser.add_argument("--pages-only", action="store_true", help="skip the ingest check")
    args = parser.parse_args()
    if not args.pages_only:
        with tempfile.TemporaryDirectory() as tmp:
            ingest_url = args.db or f"sqlite:///{tmp}/ingest.db"
            rate = bench_ingest(ingest_url, args.devices, args.events)
        print(f"ingest: {args.devices} gateways x {args.events} events -> {rate:,.0f} events/s "
              f"({'PostgreSQL' if args.db else 'SQLite'})")
    page_url = args.db or f"sqlite:///{Path('var/central').resolve()}/bench-{args.page_events}.db"
    count = build_page_db(page_url, args.page_events)
    print(f"pages with {count:,} stored events (median of {PAGE_REPEATS}):")
    for name, seconds in bench_pages(page_url).items():
        print(f"  {name:32s} {seconds * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
