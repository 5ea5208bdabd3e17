"""Write the gain the loopback step measured into the settings file.

A targeted text edit of ``output_gain_db`` in the ``[audio]`` section (added
if absent), so comments and the rest of the file stay as the installer
wrote them. The result is validated before it replaces the file.
"""

from __future__ import annotations

import re
from pathlib import Path

from lineguard.config import load_settings
from lineguard_provision.files import write_public

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*output_gain_db\s*=")


def set_output_gain(config_path: Path, gain_db: float) -> bool:
    """Set ``audio.output_gain_db``; False when it already had that value."""
    lines = config_path.read_text("utf-8").splitlines()
    new_line = f"output_gain_db = {gain_db:.1f}"
    section, audio_at, replaced = None, None, False
    for i, line in enumerate(lines):
        match = _SECTION.match(line)
        if match:
            section = match.group(1).strip()
            if section == "audio":
                audio_at = i
        elif section == "audio" and _KEY.match(line):
            lines[i], replaced = new_line, True
    if not replaced:
        if audio_at is None:
            lines += ["", "[audio]", new_line]
        else:
            lines.insert(audio_at + 1, new_line)
    text = "\n".join(lines) + "\n"
    tmp = config_path.with_name(f".{config_path.name}.check")
    tmp.write_text(text, "utf-8")
    try:
        load_settings(tmp)                      # never leave an invalid settings file behind
    finally:
        tmp.unlink()
    mode = config_path.stat().st_mode & 0o777
    changed = write_public(config_path, text.encode("utf-8"))
    config_path.chmod(mode)
    return changed
