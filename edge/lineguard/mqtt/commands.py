"""``cmd/<name>`` requests and their answers (MQTT v5 response topic + correlation data).

A request payload is a JSON object of the command's arguments (``{}`` or empty
for none). Every request gets exactly one answer on its response topic
(default ``resp/<name>``): ``{"command", "ok": true, "result": {...}}`` or
``{"command", "ok": false, "errors": [{"key", "why"}]}``. Bad requests change
nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lineguard.errors import LineGuardError
from lineguard.mqtt.topics import NAME_PATTERN, Topics
from lineguard.prompts import PROMPT_IDS

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 16 * 1024
MAX_UPDATE_BYTES = 48 * 1024 * 1024

Respond = Callable[[str, dict[str, Any], bytes | None], None]   # (topic, answer, correlation data)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SelftestArgs(_Args):
    pass


class PlayPromptArgs(_Args):
    prompt_id: str = Field("warning", pattern="^(" + "|".join(PROMPT_IDS) + ")$")


class RelayTestArgs(_Args):
    open_ms: int = Field(500, ge=100, le=3000)


class RebootArgs(_Args):
    pass


class UpdateArgs(_Args):
    manifest: dict[str, Any]
    signature: str
    files: dict[str, str] = {}


ARGS: dict[str, type[_Args]] = {"selftest": SelftestArgs, "play_prompt": PlayPromptArgs,
                                "relay_test": RelayTestArgs, "reboot": RebootArgs, "update": UpdateArgs}


class CommandError(LineGuardError, ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {w}" for k, w in problems))


def parse_request(name: str, payload: bytes) -> _Args:
    """The command's validated arguments; CommandError lists every problem."""
    if name not in ARGS:
        raise CommandError([("command", f"unknown command {name!r} (known: {', '.join(sorted(ARGS))})")])
    limit = MAX_UPDATE_BYTES if name == "update" else MAX_REQUEST_BYTES
    if len(payload) > limit:
        raise CommandError([("(payload)", f"{len(payload)} bytes, more than {limit}")])
    try:
        data = json.loads(payload.decode("utf-8")) if payload.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError([("(payload)", f"not JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise CommandError([("(root)", f"must be an object, got {type(data).__name__}")])
    try:
        return ARGS[name].model_validate(data)
    except ValidationError as exc:
        raise CommandError([(".".join(str(p) for p in e["loc"]) or "(root)", e["msg"]) for e in exc.errors()]) from None


class CommandHandler:
    """Parses requests on the MQTT thread, runs them one at a time on a worker, answers each."""

    def __init__(self, topics: Topics, respond: Respond) -> None:
        self.topics = topics
        self.respond = respond
        self.actions: dict[str, Callable[[Any], dict[str, Any]]] = {}
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mqtt-cmd")

    def bind(self, name: str, action: Callable[[Any], dict[str, Any]]) -> None:
        self.actions[name] = action

    def submit(self, topic: str, payload: bytes, response_topic: str | None, correlation: bytes | None) -> None:
        name = self.topics.command_name(topic)
        answer_to = self.topics.default_response(name if NAME_PATTERN.match(name) else "invalid")
        if response_topic is not None:
            if not self.topics.owns(response_topic):
                self._answer(answer_to, name, correlation, problems=[
                    ("response_topic", f"{response_topic!r} is outside {self.topics.root}/")])
                return
            answer_to = response_topic
        try:
            args = parse_request(name, payload)
        except CommandError as exc:
            self._answer(answer_to, name, correlation, problems=exc.problems)
            return
        self._worker.submit(self._run, name, args, answer_to, correlation)

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)

    def _run(self, name: str, args: _Args, answer_to: str, correlation: bytes | None) -> None:
        action = self.actions.get(name)
        if action is None:
            self._answer(answer_to, name, correlation, problems=[("command", f"{name} is not available here")])
            return
        try:
            result = action(args)
        except LineGuardError as exc:
            self._answer(answer_to, name, correlation, problems=[("(run)", str(exc))])
            return
        except Exception as exc:   # every request gets an answer, even when the action crashes
            log.exception("command %s failed", name)
            self._answer(answer_to, name, correlation, problems=[("(run)", f"{type(exc).__name__}: {exc}")])
            return
        self._answer(answer_to, name, correlation, result=result)

    def _answer(self, topic: str, name: str, correlation: bytes | None, result: dict[str, Any] | None = None,
                problems: list[tuple[str, str]] | None = None) -> None:
        if problems:
            answer = {"command": name, "ok": False, "errors": [{"key": k, "why": w} for k, w in problems]}
        else:
            answer = {"command": name, "ok": True, "result": result or {}}
        self.respond(topic, answer, correlation)
