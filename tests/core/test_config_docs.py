"""Every settings key is documented in docs/config.md, in its section."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from lineguard.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## \[([a-z_.]+)\]", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_key_is_documented_in_its_section():
    text = DOC.read_text(encoding="utf-8")
    docs = sections(text)
    missing = []
    for name, field in Settings.model_fields.items():
        section = field.annotation
        assert isinstance(section, type) and issubclass(section, BaseModel)
        body = docs.get(name, "")
        for key in section.model_fields:
            if f"`{key}`" not in body and f"### [{name}.{key}]" not in text:
                missing.append(f"[{name}] {key}")
    assert not missing, f"undocumented settings: {missing}"
