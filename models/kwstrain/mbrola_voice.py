"""Another engine family: MBROLA, diphones cut from recordings of real people, driven by espeak-ng.

MBROLA concatenates diphones recorded from one speaker per voice database and changes their pitch and
length by PSOLA-like overlap-add; espeak-ng supplies the phonemes, their durations and the pitch contour.
No other engine here sounds like it, and it adds recorded speakers the training set lacks: two native
American English voices (``us1`` a woman, ``us2`` a man) and sixteen European speakers reading English
with their own accent (espeak-ng's ``mb-<voice>-en`` voices: German, French, Dutch, Swedish, Polish,
Hungarian, Romanian, Greek and Afrikaans men and women), and ``hn1``, a native Korean man — the only
recording of a Korean speaker among the engines. ``en1`` (British) is held out for val and ``us3``
(American) for test; Korean has one voice, which trains.

espeak-ng ships no voice for ``hn1`` and its ``hn1`` phoneme table cannot name the voice's affricates
(MBROLA names of five characters, such as ``ts\\_h``, do not fit its four-character fields). So Korean goes
its own way: espeak-ng writes its Korean phonemes with durations and pitch (``--pho``, through a voice whose
table translates nothing), :func:`korean_pho` respells them in hn1's X-SAMPA (lax stops voiced between
vowels, coda forms unreleased, j/w with the next vowel as hn1's own diphthongs, aspiration joined to its
stop) and ``mbrola`` reads the result. English voices go through espeak-ng directly.

The databases are in Debian's contrib and non-free sections, which a stock system does not list, so
:func:`fetch` downloads the packages with a private apt configuration and unpacks them under the build
folder; nothing is installed system-wide. The voices' licence allows using them to synthesize speech
with the MBROLA program and forbids selling the databases or building them into a sold product: the
product ships neither, only a keyword model trained on speech they synthesized.

A voice ``name`` is the database (``us1``, ``de2-en`` …, ``hn1``); the :class:`~kwstrain.tts.Voice`'s
``speed_wpm`` and ``pitch`` are espeak-ng's ``-s`` and ``-p``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

# voice -> the speaker's sex; "<db>-en" reads English with the accent of db's language
NATIVE_EN = {"us1": "f", "us2": "m", "us3": "m", "en1": "m"}
ACCENTED_EN = {"af1-en": "m", "de1-en": "f", "de2-en": "m", "de3-en": "f", "de4-en": "m", "de5-en": "f",
               "de6-en": "m", "fr1-en": "m", "fr4-en": "f", "gr2-en": "m", "hu1-en": "f", "nl2-en": "m",
               "pl1-en": "f", "ro1-en": "m", "sw1-en": "m", "sw2-en": "f"}
KOREAN = {"hn1": "m"}
ALL_VOICES = (*NATIVE_EN, *ACCENTED_EN, *KOREAN)
# the split roles: one native English voice held out for val, another for test; the rest train
SPLIT_VOICES = {"train": {"en": ("us1", "us2", *ACCENTED_EN), "ko": tuple(KOREAN)},
                "val": {"en": ("en1",), "ko": ()},
                "test": {"en": ("us3",), "ko": ()}}
DEBIAN_SOURCE = "deb http://deb.debian.org/debian bookworm main contrib non-free"
KOREAN_VOICE = "mb-hn1-raw"  # espeak-ng's Korean through a table that translates nothing (see korean_pho)


def database(voice: str) -> str:
    """``de2-en`` -> ``de2``: the MBROLA database a voice reads with."""
    return voice.split("-")[0]


def packages(voices=None) -> list[str]:
    """The Debian packages for ``voices`` (default: every voice here), the program first."""
    return ["mbrola", *sorted({f"mbrola-{database(v)}" for v in voices or ALL_VOICES})]


def root_of(home: Path) -> Path:
    """Where the unpacked packages live: beside the espeak-ng home (``<build>/espeak-home``)."""
    return home.parent / "mbrola"


def _apt_options(state: Path) -> list[str]:
    return [f"-oDir::Etc::SourceList={state / 'sources.list'}", "-oDir::Etc::SourceParts=/dev/null",
            f"-oDir::State::Lists={state / 'lists'}", f"-oDir::Cache={state / 'cache'}",
            "-oDebug::NoLocking=1", "-oAPT::Sandbox::User=root"]


def fetch(root: Path, voices=None) -> None:
    """Download and unpack MBROLA and the databases of ``voices`` into ``root`` (``root/usr/bin/mbrola``,
    ``root/usr/share/mbrola/<db>/<db>``), skipping what is there. A failure names the package and apt's
    message."""
    def unpacked(package: str) -> Path:
        db = package.removeprefix("mbrola-")
        return root / ("usr/bin/mbrola" if package == "mbrola" else f"usr/share/mbrola/{db}/{db}")

    wanted = [p for p in packages(voices) if not unpacked(p).exists()]
    if not wanted:
        return
    state = root / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "debs"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    (state / "sources.list").write_text(DEBIAN_SOURCE + "\n")
    options = _apt_options(state)
    done = subprocess.run(["apt-get", *options, "update"], capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"MBROLA: apt-get update for Debian contrib/non-free failed: {done.stderr.strip()[-400:]}")
    done = subprocess.run(["apt-get", *options, "download", *wanted], cwd=state / "debs", capture_output=True,
                          text=True, timeout=1200)
    if done.returncode:
        raise RuntimeError(f"MBROLA: could not download {' '.join(wanted)}: {done.stderr.strip()[-400:]}")
    for deb in sorted((state / "debs").glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, capture_output=True, timeout=300)
        deb.unlink()


def program(home: Path) -> Path:
    return root_of(home) / "usr/bin/mbrola"


def _env(home: Path) -> dict[str, str]:
    """espeak-ng starts ``mbrola`` from PATH."""
    return {**os.environ, "PATH": f"{program(home).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def prepare(home: Path, voices=None) -> None:
    """Make the espeak-ng home ``home`` speak with MBROLA: fetch the packages, link each database where
    espeak-ng looks (``espeak-ng-data/mbrola/<db>``), and add the raw Korean voice with its empty table."""
    root = root_of(home)
    fetch(root, voices)
    data = home / "espeak-ng-data"
    (data / "mbrola").mkdir(exist_ok=True)
    for voice in voices or ALL_VOICES:
        db = database(voice)
        link = data / "mbrola" / db
        if not link.exists():
            link.symlink_to(root / f"usr/share/mbrola/{db}/{db}")
    table = data / "mbrola_ph" / "hn1raw_phtrans"
    if not table.exists():
        source = home / "phsource" / "hn1raw"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text("0 _ NULL 0 _\n")  # one line: espeak-ng's compiler refuses an empty table
        subprocess.run(["espeak-ng", f"--path={home}", f"--compile-mbrola={source}"], check=True,
                       capture_output=True, timeout=60)
    (data / "voices" / "mb" / KOREAN_VOICE).write_text("name korean-mbrola-hn1-raw\nlanguage ko\n"
                                                       "mbrola hn1 hn1raw_phtrans\n")
    if any(database(v) == "hn1" for v in voices or KOREAN) and not diphones_file(home).exists():
        found = sorted(f"{x} {y}" for x, y in probe_diphones(program(home), data / "mbrola" / "hn1"))
        diphones_file(home).write_text(json.dumps(found))


NATIVE_SHARE = 0.4  # of training English clips: the two native voices, the rest shared by the sixteen accents


def random_name(rng: random.Random, language: str, split: str) -> tuple[str, int, int]:
    """A voice of ``split``'s role with espeak-ng's speed (words per minute) and pitch (0–99). In training,
    the native English voices read 40% of the English clips (each accented voice ~4%)."""
    voices = SPLIT_VOICES[split][language]
    if not voices:
        raise ValueError(f"the mbrola engine has no {language} voice for {split}")
    natives = [v for v in voices if v in NATIVE_EN]
    if natives and len(natives) < len(voices):
        voices = natives if rng.random() < NATIVE_SHARE else [v for v in voices if v not in NATIVE_EN]
    return rng.choice(voices), rng.randint(120, 200), rng.randint(25, 75)


# --- Korean: espeak-ng's phonemes respelled in hn1's X-SAMPA -----------------------------------------------

VOWELS = {"a": "a", "E": "E", "e": "e", "@": "V", "o": "o", "u": "u", "u-": "M", "i": "i"}
# j or w and the vowel after it: one of hn1's diphthongs
GLIDES = {("j", "a"): "ja", ("j", "E"): "jE", ("j", "@"): "jV", ("j", "e"): "je", ("j", "o"): "jo",
          ("j", "u"): "ju", ("j", "i"): "i", ("w", "a"): "wa", ("w", "E"): "wE", ("w", "@"): "wV",
          ("w", "e"): "we", ("w", "i"): "wi", ("w", "o"): "o", ("w", "u"): "u", ("u-", "j"): "M\\i"}
# lax stops and affricates: voiceless after a pause, voiced between sounds
LAX = {"g": ("k", "g"), "d": ("t", "d"), "b": ("p", "b"), "tS;": ("ts\\", "ts\\"), "dZ;": ("ts\\", "dz\\")}
# consonants with a coda (unreleased) form when no vowel or glide follows
CODA = {"q": ("g", "k_}"), "k": ("k_h", "k_}"), "t": ("t", "t_}"), "t-": ("t_>", "t_}"), "p": ("p", "p_}"),
        "n": ("n", "n_}"), "m": ("m", "m_}"), "L/": ("l", "l_}"), "l/": ("l", "l_}"), "L": ("l", "l_}"),
        "R": ("4", "l_}"), "l": ("l", "l_}")}
PLAIN = {"N": "N", "h": "h", "s": "s", "s-": "s_>", "k-": "k_>", "q-": "k_>", "p-": "p_>", "d-": "t_>",
         "tS;-": "ts\\_>", "kh": "k_h", "ph": "p_h", "th": "t_h", "*": "4", "_": "_"}
ASPIRATED = {"t": "t_h", "tS": "ts\\_h", "tS;": "ts\\_h", "k": "k_h", "p": "p_h"}  # followed by a separate h


# every symbol hn1 has (its README), the pause included
HN1_SYMBOLS = ("a E e V o u M i ja jE jV je jo ju wa wE wV we wi M\\i 2 k k_> n t t_> 4 m p p_> s s_> ts\\ "
               "ts\\_> ts\\_h k_h t_h p_h h g d b dz\\ s\\ l k_} n_} t_} l_} m_} p_} N _").split()


def probe_diphones(mbrola: Path, db: Path) -> set[tuple[str, str]]:
    """The pairs of hn1 symbols the database has a diphone for. mbrola stops at the first diphone it lacks
    and names it, so each pair is tried between a few neighbours until it is said or named as missing; a
    pair no neighbour decides counts as missing. (~15 s; the result is kept beside the unpacked packages.)"""
    present = set()
    for x, y in itertools.product(HN1_SYMBOLS, HN1_SYMBOLS):
        for before, after in itertools.product(("_", "a", "i", "n"), ("_", "a", "i")):
            seq = [before, x, y, after][1 if before == x == "_" else 0:]
            done = subprocess.run([str(mbrola), str(db), "-", os.devnull], input="".join(f"{s} 80\n" for s in seq),
                                  capture_output=True, text=True, timeout=30)
            if done.returncode == 0:
                present.add((x, y))
                break
            named = re.search(r"recovery for (\S+)-(\S+) segment", done.stdout + done.stderr)
            if named and named.groups() == (x, y):
                break
    return present


def diphones_file(home: Path) -> Path:
    return root_of(home) / "hn1_diphones.json"


_DIPHONES: dict[Path, frozenset] = {}


def diphones(home: Path) -> frozenset:
    if home not in _DIPHONES:
        _DIPHONES[home] = frozenset(tuple(p.split(" ")) for p in json.loads(diphones_file(home).read_text()))
    return _DIPHONES[home]


# what a symbol may become where hn1 lacks the diphone it needs: the nearest sounds, in order
ALTERNATIVES = {"l": ("4", "l_}"), "4": ("l",), "l_}": ("l", "4"), "k_}": ("k", "g"), "t_}": ("t", "d"),
                "p_}": ("p", "b"), "n_}": ("n",), "m_}": ("m",), "N": ("n_}", "n"), "g": ("k",), "d": ("t",),
                "b": ("p",), "dz\\": ("ts\\",), "k": ("g",), "t": ("d",), "p": ("b",), "ts\\": ("dz\\",),
                "t_>": ("t", "t_}"), "k_>": ("k",), "p_>": ("p",), "s_>": ("s",), "ts\\_>": ("ts\\",),
                "k_h": ("k",), "t_h": ("t",), "p_h": ("p",), "ts\\_h": ("ts\\",), "s\\": ("s",), "M\\i": ("i",),
                "ja": ("a",), "jE": ("E",), "jV": ("V",), "je": ("e",), "jo": ("o",), "ju": ("u",), "wa": ("a",),
                "wE": ("E",), "wV": ("V",), "we": ("e",), "wi": ("i",), "2": ("e",)}
PAUSE_MS = 10


def repair(names: list[str], have) -> tuple[list[str], list[int]]:
    """``names`` with each pair hn1 lacks mended: the second sound (or else the first) replaced by a near one
    that joins both neighbours, or else a short pause between them. Returns the names and, per name, the
    index of the row it came from (-1 for an inserted pause)."""
    out, source = [], []
    for i, name in enumerate(names):
        nxt = names[i + 1] if i + 1 < len(names) else None
        if out and (out[-1], name) not in have:
            options = [n for n in ALTERNATIVES.get(name, ()) if (out[-1], n) in have
                       and (nxt is None or (n, nxt) in have)]
            options += [n for n in ALTERNATIVES.get(name, ()) if (out[-1], n) in have]
            earlier = [n for n in ALTERNATIVES.get(out[-1], ()) if (len(out) < 2 or (out[-2], n) in have)
                       and (n, name) in have]
            if options:
                name = options[0]
            elif earlier:
                out[-1] = earlier[0]
            elif (out[-1], "_") in have and ("_", name) in have:
                out.append("_")
                source.append(-1)
        out.append(name)
        source.append(i)
    return out, source


def _parse(pho: str) -> list[tuple[str, int, list[tuple[float, int]]]]:
    rows = []
    for line in pho.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith(";"):
            continue
        points = [(float(fields[i]), int(fields[i + 1])) for i in range(2, len(fields) - 1, 2)]
        rows.append((fields[0], int(fields[1]), points))
    return rows


def _join(a, b, name: str):
    """Two rows as one of ``name``: durations added, each pitch point kept at its own time."""
    total = a[1] + b[1]
    points = [(p * a[1] / total, f) for p, f in a[2]] + [((a[1] + p * b[1]) / total, f) for p, f in b[2]]
    return name, total, points


def korean_pho(pho: str, have=None) -> str:
    """espeak-ng's Korean ``--pho`` output (its own phoneme names) as an MBROLA ``.pho`` for hn1; with
    ``have`` (the pairs hn1 has diphones for) the pairs it lacks are mended (:func:`repair`)."""
    rows = _parse(pho)
    out = []
    i = 0
    while i < len(rows):
        row = rows[i]
        name = row[0]
        nxt = rows[i + 1][0] if i + 1 < len(rows) else "_"
        prev = rows[i - 1][0] if i else "_"
        if (name, nxt) in GLIDES and not (name == "u-" and i + 2 < len(rows) and rows[i + 2][0] in VOWELS):
            out.append(_join(row, rows[i + 1], GLIDES[name, nxt]))
            i += 2
            continue
        if name in ASPIRATED and nxt == "h":
            out.append(_join(row, rows[i + 1], ASPIRATED[name]))
            i += 2
            continue
        if name in VOWELS:
            mapped = VOWELS[name]
        elif name in ("j", "w"):  # a glide before no vowel it joins
            mapped = "i" if name == "j" else "u"
        elif name == ";":  # espeak-ng's palatal off-glide between vowels: part of the vowel before
            if out:
                out[-1] = _join(out[-1], row, out[-1][0])
            i += 1
            continue
        elif name in LAX:
            mapped = LAX[name][0 if prev == "_" else 1]
        elif name in CODA:
            released = nxt in VOWELS or nxt in ("j", "w")
            mapped = CODA[name][0 if released else 1]
        elif name in PLAIN:
            mapped = PLAIN[name]
        else:
            mapped = "_"  # a phoneme hn1 cannot say (espeak-ng's English for Latin letters): a pause, not noise
        out.append((mapped, row[1], row[2]))
        i += 1
    if not out or out[0][0] != "_":  # mbrola starts and ends in silence: say so, so that repair sees it
        out.insert(0, ("_", PAUSE_MS, []))
    if out[-1][0] != "_":
        out.append(("_", PAUSE_MS, []))
    if have is not None:
        names, source = repair([n for n, _, _ in out], have)
        out = [(n, out[k][1], out[k][2]) if k >= 0 else (n, PAUSE_MS, []) for n, k in zip(names, source)]
    lines = [f"{n} {d}" + "".join(f" {p:.0f} {f}" for p, f in pts) for n, d, pts in out]
    return "\n".join(lines) + "\n"


def synthesize_wav(text: str, name: str, speed_wpm: int, pitch: int, home: Path, workdir: Path) -> bytes:
    """WAV bytes of ``text`` said by MBROLA voice ``name`` (16 kHz for these databases)."""
    env = _env(home)
    if name in KOREAN:
        pho = subprocess.run(["espeak-ng", f"--path={home}", "-v", KOREAN_VOICE, "-s", str(speed_wpm), "-p",
                              str(pitch), "-q", "--pho", "--stdin"], input=text.encode(), capture_output=True,
                             check=True, timeout=60, env=env).stdout.decode()
        source, out = workdir / "hn1.pho", workdir / "hn1.wav"
        source.write_text(korean_pho(pho, diphones(home)))
        db = home / "espeak-ng-data" / "mbrola" / name
        subprocess.run([str(program(home)), "-e", str(db), str(source), str(out)], check=True,
                       capture_output=True, timeout=60, env=env)
        return out.read_bytes()
    cmd = ["espeak-ng", f"--path={home}", "-v", f"mb-{name}", "-s", str(speed_wpm), "-p", str(pitch),
           "--stdout", "--stdin"]
    return subprocess.run(cmd, input=text.encode(), capture_output=True, check=True, timeout=60, env=env).stdout


def available() -> bool:
    """The engine can run here: espeak-ng, dpkg-deb and apt-get (to fetch MBROLA) are on PATH."""
    return all(shutil.which(c) for c in ("espeak-ng", "dpkg-deb", "apt-get"))
