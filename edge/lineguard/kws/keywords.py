"""The keyword set: ids, languages, spellings, severities.

Read from the one data file ``models/keywords.toml`` that training and the
runtime share. A site chooses which keywords are live with
:func:`select_keywords` (by id or by whole language, e.g. ``"ko"``).
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from lineguard.errors import ConfigError

MODELS_DIR_ENV = "LINEGUARD_MODELS_DIR"
KEYWORDS_FILENAME = "keywords.toml"
LANGUAGES = ("ko", "en")


class Severity(str, Enum):
    ABUSE = "abuse"
    THREAT = "threat"


@dataclass(frozen=True)
class Keyword:
    id: str
    language: str
    severity: Severity
    spellings: tuple[str, ...]
    spoken: tuple[str, ...]
    carriers: tuple[str, ...] = ()
    near_misses: tuple[str, ...] = ()


def default_models_dir() -> Path:
    """``$LINEGUARD_MODELS_DIR`` if set, else the ``models/`` folder of this checkout,
    else the copy an installed package carries (``<prefix>/share/lineguard/models``)."""
    override = os.environ.get(MODELS_DIR_ENV)
    if override:
        return Path(override)
    checkout = Path(__file__).resolve().parents[3] / "models"
    if (checkout / KEYWORDS_FILENAME).is_file():
        return checkout
    return Path(sys.prefix) / "share" / "lineguard" / "models"


def default_keywords_path() -> Path:
    return default_models_dir() / KEYWORDS_FILENAME


def _str_tuple(entry: dict, key: str, where: str, problems: list, required: bool) -> tuple:
    value = entry.get(key, None)
    if value is None:
        if required:
            problems.append((where, f"missing '{key}'"))
        return ()
    if required and value == []:
        problems.append((where, f"'{key}' must not be empty"))
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append((where, f"'{key}' must be a list of non-empty strings"))
        return ()
    return tuple(value)


def _parse_keyword(entry: dict, index: int, problems: list) -> Keyword | None:
    where = f"keyword[{index}]"
    kw_id = entry.get("id")
    if not isinstance(kw_id, str) or not kw_id:
        problems.append((where, "missing 'id'"))
        return None
    where = f"keyword[{index}] ({kw_id})"
    language = entry.get("language")
    if language not in LANGUAGES:
        problems.append((where, f"language must be one of {LANGUAGES}, got {language!r}"))
    severity = entry.get("severity")
    if severity not in {s.value for s in Severity}:
        problems.append((where, f"severity must be 'abuse' or 'threat', got {severity!r}"))
    spellings = _str_tuple(entry, "spellings", where, problems, required=True)
    spoken = _str_tuple(entry, "spoken", where, problems, required=False) or spellings
    carriers = _str_tuple(entry, "carriers", where, problems, required=False)
    for carrier in carriers:
        if "{kw}" not in carrier:
            problems.append((where, f"carrier {carrier!r} lacks '{{kw}}'"))
    near = _str_tuple(entry, "near_misses", where, problems, required=False)
    if language not in LANGUAGES or severity not in {s.value for s in Severity}:
        return None
    return Keyword(kw_id, language, Severity(severity), spellings, spoken, carriers, near)


def load_keywords(path: Path | None = None) -> tuple[Keyword, ...]:
    """Parse and validate the keyword file; every problem is listed in one error."""
    source = Path(path) if path is not None else default_keywords_path()
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(source), [("file", "keyword file not found")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(source), [("file", f"not valid TOML: {exc}")]) from None
    entries = data.get("keyword")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(str(source), [("keyword", "no [[keyword]] entries")])
    problems: list[tuple[str, str]] = []
    keywords = [_parse_keyword(e, i, problems) for i, e in enumerate(entries)]
    ids = [k.id for k in keywords if k is not None]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append((dup, "duplicate id"))
    if problems:
        raise ConfigError(str(source), problems)
    return tuple(k for k in keywords if k is not None)


def select_keywords(
    keywords: tuple[Keyword, ...], enabled: list[str] | None
) -> tuple[Keyword, ...]:
    """Keywords enabled by id or language code; ``None`` enables all.

    Unknown names raise :class:`ConfigError` listing all of them.
    """
    if enabled is None:
        return keywords
    by_id = {k.id: k for k in keywords}
    chosen: dict[str, Keyword] = {}
    unknown: list[tuple[str, str]] = []
    for name in enabled:
        if name in by_id:
            chosen[name] = by_id[name]
        elif name in LANGUAGES:
            chosen.update({k.id: k for k in keywords if k.language == name})
        else:
            unknown.append(("enabled_keywords", f"unknown keyword or language {name!r}"))
    if unknown:
        raise ConfigError("kws", unknown)
    return tuple(k for k in keywords if k.id in chosen)
