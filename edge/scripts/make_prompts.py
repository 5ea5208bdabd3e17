"""Generate the bundled prompts with espeak-ng, reproducibly (16 kHz mono WAV).

Run with `make prompts`. A site can replace any prompt with its own
recording (see docs/prompts.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "lineguard" / "assets" / "prompts"
RATE_HZ = 16000

TEXTS = {
    "ko": {
        "notice": "이 통화는 녹음될 수 있습니다. 폭언과 욕설은 허용되지 않습니다.",
        "warning": "폭언이 계속되면 이 통화는 종료될 수 있습니다.",
        "final": "폭언으로 인해 이 통화를 종료합니다.",
        "long_call": "통화 시간이 길어지고 있습니다. 잠시 후 통화가 종료됩니다.",
        "long_call_final": "최대 통화 시간이 지나 통화를 종료합니다.",
        "blocked": "이 번호에서 걸려 온 전화는 받을 수 없습니다. 안녕히 계세요.",
    },
    "en": {
        "notice": "This call may be recorded. Abusive language is not tolerated.",
        "warning": "Verbal abuse may end this call.",
        "final": "This call is being ended due to verbal abuse.",
        "long_call": "This call has reached its time limit and will end soon.",
        "long_call_final": "The time limit has been reached. This call is now ending.",
        "blocked": "Calls from this number are not accepted. Goodbye.",
    },
}
VOICES = {"ko": "ko+f3", "en": "en-us+f3"}
# A speech compressor (4:1 above -20 dB) keeps the crest factor near 14 dB, so a prompt reaches its
# calibrated speech level (-16 dBFS by default) with peaks below -1 dBFS instead of being turned down.
COMPAND = ["compand", "0.0005,0.03", "-70,-70,-40,-30,-20,-17,0,-12", "0", "-70", "0.001"]


def synthesize(text: str, voice: str, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-p", "50", "-w", str(raw), text], check=True)
        subprocess.run(["sox", "-D", str(raw), "-r", str(RATE_HZ), "-c", "1", "-b", "16", str(out),
                        "highpass", "300", "lowpass", "3400", *COMPAND, "norm", "-3", "pad", "0.1", "0.2"],
                       check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary folder and compare with the bundled WAVs")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write (default: the bundled prompts)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) if args.check else args.out
        differ = []
        for language, prompts in TEXTS.items():
            folder = out / language
            folder.mkdir(parents=True, exist_ok=True)
            for prompt_id, text in prompts.items():
                synthesize(text, VOICES[language], folder / f"{prompt_id}.wav")
                if args.check and (folder / f"{prompt_id}.wav").read_bytes() != (
                        args.out / language / f"{prompt_id}.wav").read_bytes():
                    differ.append(f"{language}/{prompt_id}.wav")
                print(f"{language}/{prompt_id}.wav  {text}")
    if differ:
        print("differ from a fresh build: " + ", ".join(differ), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
