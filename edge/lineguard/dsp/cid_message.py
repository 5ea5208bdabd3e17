"""Caller-ID messages: SDMF and MDMF (Bellcore GR-30 / ETSI EN 300 659), with checksum.

A message is ``type, length, payload[length], checksum`` where the checksum
makes the byte sum 0 mod 256. SDMF (0x04): 8 digits MMDDHHMM then the
number, or ``O`` (unavailable) / ``P`` (private). MDMF (0x80 call setup):
parameters ``type, length, value``: 0x01 date-time, 0x02 number, 0x04
reason the number is absent, 0x07 name, 0x08 reason the name is absent.
"""

from __future__ import annotations

from dataclasses import dataclass

SDMF = 0x04
MDMF = 0x80
P_DATETIME, P_NUMBER, P_NUMBER_ABSENT, P_NAME, P_NAME_ABSENT = 0x01, 0x02, 0x04, 0x07, 0x08
_ABSENT = {"O": "unavailable", "P": "private"}


@dataclass(frozen=True)
class CallerIdMessage:
    number: str | None
    name: str | None = None
    status: str = "ok"            # "ok" | "private" | "unavailable"
    datetime: str | None = None   # MMDDHHMM as sent
    format: str = "sdmf"


def checksum_ok(data: bytes) -> bool:
    return sum(data) & 0xFF == 0


def parse_message(data: bytes) -> CallerIdMessage | None:
    """The first well-formed message (type, length, checksum) found in ``data``, else None."""
    for i in range(len(data)):
        kind = data[i]
        if kind not in (SDMF, MDMF) or i + 2 > len(data):
            continue
        end = i + 2 + data[i + 1] + 1
        if end > len(data) or not checksum_ok(data[i:end]):
            continue
        payload = data[i + 2:end - 1]
        message = _sdmf(payload) if kind == SDMF else _mdmf(payload)
        if message is not None:
            return message
    return None


def _text(raw: bytes) -> str | None:
    text = raw.decode("ascii", errors="replace").strip()
    return text if text and text.isprintable() else None


def _sdmf(payload: bytes) -> CallerIdMessage | None:
    if len(payload) < 9:
        return None
    stamp, rest = _text(payload[:8]), _text(payload[8:])
    if rest in _ABSENT:
        return CallerIdMessage(None, status=_ABSENT[rest], datetime=stamp, format="sdmf")
    return CallerIdMessage(rest, datetime=stamp, format="sdmf")


def _mdmf(payload: bytes) -> CallerIdMessage | None:
    params: dict[int, bytes] = {}
    i = 0
    while i + 2 <= len(payload):
        kind, length = payload[i], payload[i + 1]
        if i + 2 + length > len(payload):
            return None
        params[kind] = payload[i + 2:i + 2 + length]
        i += 2 + length
    if i != len(payload):
        return None
    number, status = _text(params.get(P_NUMBER, b"")), "ok"
    if number is None:
        status = _ABSENT.get(_text(params.get(P_NUMBER_ABSENT, b"")) or "", "unavailable")
    name = _text(params.get(P_NAME, b""))
    return CallerIdMessage(number, name, status, _text(params.get(P_DATETIME, b"")), "mdmf")
