from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lineguard.config import Settings, parse_settings  # noqa: E402


@pytest.fixture
def make_settings():
    def build(**sections) -> Settings:
        return parse_settings(sections)
    return build
