"""Caller memory wired for the gateway: lists, flags and screening together.

The gateway calls it at each step of a call; it answers with relay and
line actions and with events. The gateway stays small; this module holds
the caller logic.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from lineguard.callers.flags import FlagStore
from lineguard.callers.lists import CallerLists, ListFile, parse_entry
from lineguard.callers.screening import CallerScreen, CallTreatment, ScreenAction
from lineguard.config import CallersSettings
from lineguard.errors import ConfigError
from lineguard.events import CallerFlagged, TerminationReason

log = logging.getLogger(__name__)

FLAG_REASONS = (TerminationReason.ABUSE, TerminationReason.THREAT)


@dataclass
class CallerMemory:
    settings: CallersSettings
    lists: CallerLists
    flags: FlagStore
    screen: CallerScreen
    caller_id: str | None = None

    @classmethod
    def from_settings(cls, settings: CallersSettings, country: str, can_seize: bool) -> CallerMemory:
        entries = ListFile(settings.list_file, country).load() + central_entries(settings, country)
        lists = CallerLists(entries, settings.withheld, country)
        flags = FlagStore(settings.flags_db, country)
        if settings.share_flags and settings.central_flags:
            flags.merge_central([(f.number, f.reason, _aware(f.expires_at)) for f in settings.central_flags],
                                datetime.now(timezone.utc))
        screen = CallerScreen(lists, settings.first_ring, settings.repeat_action, can_seize)
        return cls(settings, lists, flags, screen)

    def close(self) -> None:
        self.flags.close()

    def ring(self, now: datetime) -> list[ScreenAction]:
        return self.screen.ring_started(now, self.flags.active(self.caller_id, now) if self.caller_id else None)

    def caller_id_known(self, number: str | None, now: datetime) -> list[ScreenAction]:
        self.caller_id = number
        return self.screen.caller_id(number, now, self.flags.active(number, now))

    def ringing_over(self) -> list[ScreenAction]:
        return self.screen.ringing_over()

    def treatment(self, caller_id: str | None, now: datetime) -> CallTreatment:
        return self.screen.treatment(self.flags.active(caller_id, now))

    def call_done(self) -> None:
        self.caller_id = None

    def terminated(self, caller_id: str | None, reason: TerminationReason, call_id: str, time_s: float,
                   now: datetime) -> CallerFlagged | None:
        if reason not in FLAG_REASONS or self.settings.repeat_days <= 0:
            return None
        flag = self.flags.flag(caller_id, reason.value, call_id, now, self.settings.repeat_days)
        if flag is None:
            return None
        return CallerFlagged(time=time_s, call_id=call_id, caller_id=flag.number, reason=flag.reason,
                             expires_at=flag.expires_at.isoformat(), count=flag.count)


def central_entries(settings: CallersSettings, country: str) -> tuple:
    """List entries pushed in the settings document (``[[callers.entries]]``)."""
    problems: list[tuple[str, str]] = []
    out = []
    for i, e in enumerate(settings.entries):
        entry = parse_entry(e.model_dump(), country, f"callers.entries[{i}]", problems)
        if entry is not None:
            out.append(entry)
    if problems:
        raise ConfigError("settings", problems)
    return tuple(out)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
