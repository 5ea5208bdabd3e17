"""Allow and block lists by caller ID.

Entries match an exact number, a prefix, or a pattern (``?`` one digit,
``*`` any digits). Each has a note, who added it, when, and an optional
expiry. An allowed number is never blocked. Withheld callers follow
``withheld_policy``. The list file is CSV; importing a file is all or
nothing, with every error listed by line number.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import os
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

from lineguard.callers.numbers import is_withheld, normalize
from lineguard.errors import ConfigError

FIELDS = ("list", "kind", "value", "note", "added_by", "added_at", "expires_at")


class ListName(str, Enum):
    ALLOW = "allow"
    BLOCK = "block"


class MatchKind(str, Enum):
    EXACT = "exact"
    PREFIX = "prefix"
    PATTERN = "pattern"


@dataclass(frozen=True)
class ListEntry:
    list: ListName
    kind: MatchKind
    value: str
    note: str = ""
    added_by: str = ""
    added_at: datetime | None = None
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at

    def matches(self, number: str) -> bool:
        if self.kind is MatchKind.EXACT:
            return number == self.value
        if self.kind is MatchKind.PREFIX:
            return number.startswith(self.value)
        return fnmatch.fnmatchcase(number, self.value)

    def describe(self) -> str:
        return f"{self.list.value}:{self.kind.value}:{self.value}"


@dataclass(frozen=True)
class Verdict:
    blocked: bool
    rule: str          # the entry that decided, or "withheld_policy", or "" (no rule)


class CallerLists:
    def __init__(self, entries: tuple[ListEntry, ...] = (), withheld_policy: str = "allow",
                 country: str = "KR") -> None:
        self.entries = tuple(entries)
        self.withheld_policy = withheld_policy
        self.country = country

    def check(self, caller_id: str | None, now: datetime) -> Verdict:
        """Allow beats block; withheld callers follow the withheld policy."""
        if is_withheld(caller_id):
            return Verdict(self.withheld_policy == "block", "withheld_policy")
        number = normalize(caller_id or "", self.country)
        live = [e for e in self.entries if e.active(now) and e.matches(number)]
        for entry in live:
            if entry.list is ListName.ALLOW:
                return Verdict(False, entry.describe())
        for entry in live:
            return Verdict(True, entry.describe())
        return Verdict(False, "")


def parse_entry(row: dict[str, str], country: str, where: str, problems: list[tuple[str, str]]) -> ListEntry | None:
    try:
        name = ListName((row.get("list") or "").strip())
        kind = MatchKind((row.get("kind") or "exact").strip() or "exact")
    except ValueError as exc:
        problems.append((where, str(exc)))
        return None
    value = (row.get("value") or "").strip()
    if kind is not MatchKind.PATTERN:
        value = normalize(value, country)
    if not value or (kind is MatchKind.PATTERN and not set(value) <= set("0123456789?*+")):
        problems.append((where, f"bad {kind.value} value {row.get('value')!r}"))
        return None
    try:
        added = parse_time(row.get("added_at"))
        expires = parse_time(row.get("expires_at"))
    except ValueError as exc:
        problems.append((where, f"bad date: {exc}"))
        return None
    return ListEntry(name, kind, value, (row.get("note") or "").strip(), (row.get("added_by") or "").strip(),
                     added, expires)


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601 (``Z`` allowed) as an aware datetime; empty -> None; bad -> ValueError."""
    if not text or not text.strip():
        return None
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_csv(text: str, source: str, country: str = "KR") -> tuple[ListEntry, ...]:
    """Every row valid, or ConfigError listing each bad line; nothing half-applied."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"list", "value"} <= set(reader.fieldnames):
        raise ConfigError(source, [("line 1", f"header must hold at least list,value (columns: {', '.join(FIELDS)})")])
    problems: list[tuple[str, str]] = []
    entries = []
    for row in reader:
        if None in row:
            problems.append((f"line {reader.line_num}", "more columns than the header"))
            continue
        entry = parse_entry(row, country, f"line {reader.line_num}", problems)
        if entry is not None:
            entries.append(entry)
    if problems:
        raise ConfigError(source, problems)
    return tuple(entries)


def to_csv(entries: tuple[ListEntry, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for e in entries:
        writer.writerow([e.list.value, e.kind.value, e.value, e.note, e.added_by,
                         e.added_at.isoformat() if e.added_at else "", e.expires_at.isoformat() if e.expires_at else ""])
    return out.getvalue()


class ListFile:
    """The local list file, rewritten atomically (temp file, fsync, rename)."""

    def __init__(self, path: Path, country: str = "KR") -> None:
        self.path = Path(path)
        self.country = country

    def load(self) -> tuple[ListEntry, ...]:
        if not self.path.exists():
            return ()
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(str(self.path), [("(file)", str(exc))]) from None
        return parse_csv(text, str(self.path), self.country)

    def save(self, entries: tuple[ListEntry, ...]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".callers-", suffix=".csv")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(to_csv(entries))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add(self, entry: ListEntry) -> tuple[ListEntry, ...]:
        entries = tuple(e for e in self.load() if (e.list, e.kind, e.value) != (entry.list, entry.kind, entry.value))
        stamped = entry if entry.added_at else replace(entry, added_at=datetime.now(timezone.utc))
        self.save(entries + (stamped,))
        return entries + (stamped,)

    def remove(self, value: str) -> int:
        entries = self.load()
        number = normalize(value, self.country) if set(value) - set("?*") else value
        kept = tuple(e for e in entries if e.value not in (value, number))
        self.save(kept)
        return len(entries) - len(kept)

    def import_csv(self, text: str, source: str, replace_all: bool = False) -> int:
        new = parse_csv(text, source, self.country)
        base = () if replace_all else self.load()
        keys = {(e.list, e.kind, e.value) for e in new}
        self.save(tuple(e for e in base if (e.list, e.kind, e.value) not in keys) + new)
        return len(new)
