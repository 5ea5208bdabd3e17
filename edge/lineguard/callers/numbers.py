"""Phone-number normalization and the withheld-caller markers."""

from __future__ import annotations

import re

WITHHELD = frozenset({"private", "unavailable", "withheld", "anonymous", "p", "o"})
COUNTRY_CODES = {"KR": "82", "US": "1", "DE": "49"}
_NOT_DIGIT = re.compile(r"[^0-9]")


def normalize(number: str, country: str = "KR") -> str:
    """Digits only, national form: '+82 10-1234-5678' -> '01012345678'.

    A withheld marker ('private', 'unavailable', 'P', 'O') becomes 'withheld'.
    """
    raw = number.strip()
    if raw.lower() in WITHHELD:
        return "withheld"
    code = COUNTRY_CODES.get(country, "")
    international = raw.startswith("+") or raw.startswith("00")
    digits = _NOT_DIGIT.sub("", raw)
    if raw.startswith("00"):
        digits = digits[2:]
    if international and code and digits.startswith(code):
        rest = digits[len(code):]
        return rest if country == "US" else "0" + rest.lstrip("0")
    if international:
        return "+" + digits
    return digits


def is_withheld(number: str | None) -> bool:
    return number is None or number.strip().lower() in WITHHELD or number == "withheld"
