"""Generate the bundled demo call: a caller who becomes abusive (8 kHz mono WAV).

Run with `make demo-audio`. The far end speaks with an espeak-ng voice;
the script leaves room for the gateway's warning between the outbursts.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lineguard.audio.wavio import read_wav, write_wav  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "lineguard" / "assets" / "demo" / "demo_call.wav"
RATE_HZ = 8000
VOICE = "ko+m3"

# (text, silence after it in seconds)
SCRIPT = [
    ("여보세요, 주문한 물건이 아직도 안 왔어요.", 1.2),
    ("이 개새끼야, 빨리 보내.", 7.5),
    ("뭐라고요? 꺼져 이 미친놈아.", 1.0),
    ("내가 몇 번을 말했는지 알아요? 당장 환불해 줘요.", 2.0),
    ("여보세요? 듣고 있어요?", 3.0),
]


def speak(text: str, tmp: Path) -> np.ndarray:
    raw, out = tmp / "raw.wav", tmp / "out.wav"
    subprocess.run(["espeak-ng", "-v", VOICE, "-s", "155", "-p", "40", "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-D", str(raw), "-r", str(RATE_HZ), "-c", "1", "-b", "16", str(out),
                    "highpass", "300", "lowpass", "3400", "norm", "-6"], check=True)
    return read_wav(out)[0][:, 0]


def main() -> int:
    parts = [np.zeros(int(0.8 * RATE_HZ), np.float32)]
    with tempfile.TemporaryDirectory() as tmp:
        for text, pause_s in SCRIPT:
            parts.append(speak(text, Path(tmp)))
            parts.append(np.zeros(int(pause_s * RATE_HZ), np.float32))
    audio = np.concatenate(parts)
    rng = np.random.default_rng(7)
    audio = audio + rng.normal(0, 10 ** (-55 / 20), len(audio)).astype(np.float32)  # line hiss
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_wav(OUT, audio, RATE_HZ)
    print(f"{OUT}: {len(audio) / RATE_HZ:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
