"""Put the MQTT agent next to a gateway: the daemon's and the replay's entry points."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text

from lineguard.config import Settings
from lineguard.errors import DeviceError
from lineguard.mqtt.agent import MqttAgent
from lineguard.mqtt.control import (
    DetectorFactory, GatewayControl, default_detector_factory, make_self_check, with_model,
)
from lineguard.mqtt.remote_config import RemoteConfig
from lineguard.mqtt.updates import UpdateInstaller, load_public_key
from lineguard.sinks import ConsoleSink

log = logging.getLogger(__name__)

REBOOT_DELAY_S = 1.0
REPLAY_DRAIN_S = 15.0
RESTART_EXIT_CODE = 75      # EX_TEMPFAIL: a failure to systemd, so Restart=on-failure starts the service again
STOP_DRAIN_S = 5.0


def create_agent(settings: Settings) -> tuple[MqttAgent, Settings]:
    """The agent (not started) and the settings to build the gateway with: the file's,
    with the last applied remote settings and the installed model laid over them."""
    agent = MqttAgent(settings)
    agent.remote = RemoteConfig(settings, settings.mqtt.state_dir, apply=_not_bound)
    effective = agent.remote.restore()
    model = _installed_model(settings)
    if model is not None:
        effective = with_model(effective, model)
        agent.model_version = lambda: model.parent.name
    return agent, effective


def bind_gateway(agent: MqttAgent, gateway, reboot: Callable[[], None],
                 detector_factory: DetectorFactory = default_detector_factory) -> GatewayControl:
    """Route remote settings, commands and updates to ``gateway``."""
    control = GatewayControl(gateway, reboot, detector_factory)
    agent.health.backends = control.backends
    if agent.remote is not None:
        agent.remote.apply = control.apply_settings
    agent.commands.bind("selftest", lambda _args: control.selftest())
    agent.commands.bind("play_prompt", lambda args: control.play_prompt(args.prompt_id))
    agent.commands.bind("relay_test", lambda args: control.relay_test(args.open_ms))
    agent.commands.bind("reboot", lambda _args: _schedule(lambda: _restart(agent, control)))
    key_file = agent.mqtt.update_public_key_file
    if key_file is not None:
        installer = UpdateInstaller(Path(agent.mqtt.state_dir) / "updates", load_public_key(key_file),
                                    make_self_check(gateway.settings, detector_factory))
        agent.commands.bind("update", lambda args: _update(installer, control, agent, args))
    return control


def attach_mqtt(sinks: list, gateway, reboot: Callable[[], None]) -> MqttAgent | None:
    """If an MQTT agent is among the daemon's sinks: bind it to ``gateway``, show deliveries
    on the console sink (if any), and start it."""
    agent = next((s for s in sinks if isinstance(s, MqttAgent)), None)
    if agent is None:
        return None
    bind_gateway(agent, gateway, reboot)
    console = next((s for s in sinks if isinstance(s, ConsoleSink)), None)
    if console is not None:
        agent.on_delivered = lambda topic, seq: console.console.print(
            Text(f"{'':10}mqtt      → {topic} (seq {seq}) acknowledged by the broker", style="dim green"))
    return agent.start()


def stop_mqtt(sinks: list, drain_s: float = STOP_DRAIN_S) -> None:
    """Give the broker up to ``drain_s`` to take what is stored, then go offline (the rest stays stored)."""
    for sink in sinks:
        if isinstance(sink, MqttAgent):
            sink.stop(drain_s=drain_s)


def replay_agent(settings: Settings, url: str, device_id: str) -> MqttAgent:
    """An agent that publishes a replay's events as device ``device_id`` would (own temporary outbox)."""
    tmp = tempfile.TemporaryDirectory(prefix="lineguard-replay-mqtt-")
    scratch = Path(tmp.name)
    mqtt = settings.mqtt.model_copy(update={"enabled": True, "url": url, "outbox_path": scratch / "outbox.sqlite",
                                            "state_dir": scratch, "reconnect_min_s": 0.2, "reconnect_max_s": 2.0})
    device = settings.device.model_copy(update={"id": device_id})
    from lineguard.config import parse_settings
    checked = parse_settings({**settings.model_dump(mode="json", exclude_none=True),
                              "mqtt": mqtt.model_dump(mode="json", exclude_none=True),
                              "device": device.model_dump(mode="json")}, "--mqtt/--device-id")
    agent = MqttAgent(checked, listen=False)
    agent.scratch = tmp     # removed with the agent
    return agent


def finish_replay(agent: MqttAgent, drain_s: float = REPLAY_DRAIN_S) -> None:
    """Wait until the broker has every event, then go offline; DeviceError when it does not."""
    drained = agent.wait_drained(drain_s)
    depth = agent.outbox.depth()
    agent.stop()
    if not drained:
        raise DeviceError(f"MQTT {agent.mqtt.url}: {depth} events not acknowledged after {drain_s:.0f} s")


def _update(installer: UpdateInstaller, control: GatewayControl, agent: MqttAgent, args: Any) -> dict[str, Any]:
    result = installer.install({"manifest": args.manifest, "signature": args.signature, "files": args.files})
    if result.get("installed"):
        control.use_update(result["kind"], Path(result["path"]))
        if result["kind"] == "model":
            version = result["version"]
            agent.model_version = lambda: version
    return result


def restart_code(sinks: list) -> int:
    """The daemon's exit status: :data:`RESTART_EXIT_CODE` after a remote ``reboot``, else 0."""
    return RESTART_EXIT_CODE if any(getattr(s, "restart_requested", False) for s in sinks) else 0


def _restart(agent: MqttAgent, control: GatewayControl) -> None:
    log.warning("remote reboot: stopping the service so that systemd starts it again")
    agent.restart_requested = True
    control.reboot()


def _schedule(action: Callable[[], None]) -> dict[str, Any]:
    timer = threading.Timer(REBOOT_DELAY_S, action)
    timer.daemon = True
    timer.start()
    return {"restarting_in_s": REBOOT_DELAY_S}


def _installed_model(settings: Settings) -> Path | None:
    current = Path(settings.mqtt.state_dir) / "updates" / "model" / "current"
    models = sorted(current.glob("*.tflite")) if current.exists() else []
    return models[0].resolve() if models else None


def _not_bound(_settings: Settings) -> None:
    raise DeviceError("no gateway is running to take new settings")
