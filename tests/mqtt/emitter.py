"""A gateway-like process for the crash test: emits numbered events through the real MqttAgent.

``python -m tests.mqtt.emitter SETTINGS.json COUNT INTERVAL_S`` prints each event's id once
``handle`` has returned (the event is on disk), then waits for the outbox to drain.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from lineguard.config import parse_settings
from lineguard.events import Status
from lineguard.mqtt.agent import MqttAgent


def main() -> int:
    settings = parse_settings(json.loads(Path(sys.argv[1]).read_text()))
    count, interval_s = int(sys.argv[2]), float(sys.argv[3])
    agent = MqttAgent(settings).start()
    for i in range(count):
        event = Status(time=float(i), state="idle", detail=f"n{i}")
        agent.handle(event)
        print(event.event_id, flush=True)
        time.sleep(interval_s)
    drained = agent.wait_drained(30)
    agent.stop()
    print("drained" if drained else "NOT drained", flush=True)
    return 0 if drained else 1


if __name__ == "__main__":
    sys.exit(main())
