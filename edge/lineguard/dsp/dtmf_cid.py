"""DTMF caller ID (ETSI EN 300 659-1 annex, used in parts of Europe and Asia).

The exchange keys ``A`` (or ``D``) + number + ``C``, usually before the first
ring. ``B`` + code + ``C`` says why there is no number: ``00`` unavailable,
``10`` private. Digits come from :class:`~lineguard.dsp.dtmf.DtmfDetector`;
a gap longer than ``MAX_GAP_S`` abandons a half-received number.
"""

from __future__ import annotations

from dataclasses import dataclass

from lineguard.dsp.cid_message import CallerIdMessage

MAX_GAP_S = 1.0
MAX_DIGITS = 24
_REASONS = {"00": "unavailable", "10": "private"}


@dataclass(frozen=True)
class DtmfCallerId:
    time_s: float
    message: CallerIdMessage


class DtmfCallerIdParser:
    def __init__(self) -> None:
        self._lead: str | None = None     # "A"/"D" (number) or "B" (reason)
        self._digits = ""
        self._last_s = 0.0

    def feed(self, time_s: float, digit: str) -> DtmfCallerId | None:
        if self._lead is not None and time_s - self._last_s > MAX_GAP_S:
            self._lead = None
        self._last_s = time_s
        if digit in "ABD":
            self._lead, self._digits = digit, ""
            return None
        if self._lead is None:
            return None
        if digit == "C":
            lead, digits, self._lead = self._lead, self._digits, None
            return self._finish(time_s, lead, digits)
        if digit.isdigit() and len(self._digits) < MAX_DIGITS:
            self._digits += digit
        else:
            self._lead = None             # "*", "#" or too long: not caller ID
        return None

    @staticmethod
    def _finish(time_s: float, lead: str, digits: str) -> DtmfCallerId | None:
        if lead == "B":
            return DtmfCallerId(time_s, CallerIdMessage(None, status=_REASONS.get(digits, "unavailable"),
                                                        format="dtmf"))
        if not digits:
            return None
        return DtmfCallerId(time_s, CallerIdMessage(digits, format="dtmf"))
