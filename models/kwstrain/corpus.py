"""Texts to synthesize: everyday Korean and English sentences (negatives).

Korean comes from the open-korean-text jar inside the konlpy wheel (example
tweets and chunks, read with zipfile, no Java) and konlpy's kobill/kolaw
corpora, filtered against its profanity list and our keywords; English from
phone-conversation templates below plus sentences from the Debian ``fortunes``
collection (quotes, jokes, proverbs: a wide everyday vocabulary that the
templates lack). Each text is assigned to the train, val
or test split by a stable hash, so no sentence is shared across splits.

Three pools: ``base`` (every split's conversation), ``more`` (texts the base
pool leaves out, training only) and ``wide`` (training only, other kinds of
text: the usage examples of the WordNet dictionary for English, the Korean
LibreOffice help for Korean; both from Debian packages that are downloaded and
unpacked into the build folder, not installed, :func:`fetch_wide_sources`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import random
import re
import subprocess
import tempfile
import zipfile
from html import unescape
from pathlib import Path

LOG = logging.getLogger(__name__)
OKT_PREFIX = "org/openkoreantext/processor/util/"
KO_BLOCKLIST_STEMS = ("씨발", "시발", "씨바", "병신", "븅신", "좆", "졷", "지랄", "새끼", "미친", "닥쳐", "꺼져", "죽여", "주겨", "또라이", "ㅅㅂ", "ㅂㅅ", "개새")
EN_BLOCKED_WORDS = re.compile(r"\b(?:fuck|shit|bitch|asshole|bastard|kill|idiot|damn|ass\b|shut\s+up)", re.IGNORECASE)
FORTUNES_DIR = Path("/usr/share/games/fortunes")
FORTUNE_SENTENCES = 3000
FORTUNE_WORDS = (4, 14)
# the wide pool's sources: Debian packages unpacked into WIDE_ROOT (apt-get download + dpkg-deb -x, no root needed)
WIDE_PACKAGES = {"en": "wordnet-base", "ko": "libreoffice-help-ko"}
WIDE_ROOT = Path(__file__).resolve().parents[1] / "build" / "texts"

KO_PHONE = """여보세요 네 안녕하세요
네 말씀하세요 무엇을 도와드릴까요
예약하고 싶은데요 내일 오후 두 시 가능한가요
잠시만 기다려 주세요 확인해 보겠습니다
주문하신 물건은 내일 도착할 예정입니다
영업시간이 어떻게 되나요
주차는 건물 뒤편에 하시면 됩니다
네 알겠습니다 감사합니다 좋은 하루 되세요
죄송하지만 지금 담당자가 자리에 없습니다
전화번호 남겨 주시면 다시 연락드리겠습니다
가격이 얼마예요 카드 결제 되나요
배송이 너무 늦어서 전화 드렸어요
환불은 영수증이 있어야 가능합니다
진료 예약 변경하려고 하는데요
오늘 몇 시까지 하세요
아 그래요 그럼 다음 주에 다시 올게요
네네 맞아요 그 제품이요
조금 더 크게 말씀해 주시겠어요 잘 안 들려요
성함이 어떻게 되세요
생년월일 여섯 자리 말씀해 주세요
지금 가게 앞인데 문이 닫혀 있네요
택배 기사님 문 앞에 두고 가 주세요
어제 산 게 고장 났어요 교환 되나요
아이가 열이 나서 오늘 진료 받을 수 있을까요
예 수고하세요 들어가세요
주소가 서울시 강남구 테헤란로 맞으시죠
이번 달 말까지 할인 행사 중입니다
잠깐만요 펜 좀 가져올게요
아니요 그건 제가 주문한 게 아닌데요
혹시 포장도 되나요 몇 분 걸려요""".splitlines()

EN_OPENERS = ["hello", "hi", "good morning", "good afternoon", "yes", "okay", "well", "sorry", "excuse me", "thanks", "right", "so", "um", "alright"]
EN_BODIES = [
    "I would like to book an appointment for {day}", "can I speak to the manager please", "my order number is {num}",
    "the package was supposed to arrive {day}", "what time do you close {day}", "is the doctor available {day}",
    "I'm calling about the invoice from last {unit}", "could you repeat that please", "we are open until {hour} o'clock",
    "the price is {num} dollars", "do you take credit cards", "I need to change my reservation", "let me check that for you",
    "please hold for a moment", "can you spell your last name", "the address is {num} {street} street",
    "I'll call you back in {num} minutes", "my phone number is {digits}", "we have a special offer this {unit}",
    "the printer is not working again", "I'd like a refund for the blender", "is there parking near the clinic",
    "my son has a fever since {day}", "thank you so much for your help", "I think there was a mistake on my bill",
    "can you send someone to fix the heater", "how long will the delivery take", "what are your opening hours",
    "I left my umbrella in your shop {day}", "the pharmacy said you would call", "I want to cancel my subscription",
    "we need two large pizzas and a salad", "is this the right number for the dentist", "sorry I didn't catch that",
    "could you speak a little louder", "I'm running about {num} minutes late", "the shipment is still in the warehouse",
    "your total comes to {num} dollars and {num} cents", "the meeting was moved to {day}", "it's a small blue box",
    "please tell her I called", "do you have it in a larger size", "I'm looking for the pediatric ward",
    "the kitchen closes at {hour}", "the bus was late this morning", "I'll be there around {hour} thirty",
    "yes that's correct", "no that's not what I ordered", "the weather is terrible {day}", "we can fit you in at {hour}",
]
EN_CLOSERS = ["thank you", "bye", "have a nice day", "see you", "okay thanks", "great", "perfect", "that works", "", "", ""]
EN_FILL = {
    "day": ["today", "tomorrow", "on monday", "on tuesday", "next friday", "this weekend", "yesterday", "on the fifth"],
    "num": ["two", "fifteen", "forty two", "one hundred", "three", "twenty", "eight", "seventy five", "ninety"],
    "unit": ["week", "month", "year"],
    "hour": ["five", "six", "seven", "nine", "ten", "eleven", "four"],
    "street": ["Main", "Oak", "Maple", "Pine", "Elm", "Cedar"],
    "digits": ["five five five one two three four", "two oh one seven seven six", "nine eight three oh oh one"],
}


def split_of(text: str) -> str:
    """Stable split for a text: 70% train, 10% val, 20% test."""
    bucket = int(hashlib.sha1(text.encode()).hexdigest(), 16) % 10
    return "train" if bucket < 7 else ("val" if bucket == 7 else "test")


def _hash_order(texts) -> list[str]:
    """``texts`` in a stable order that does not follow the source (sha1 of the text)."""
    return sorted(texts, key=lambda t: hashlib.sha1(t.encode()).hexdigest())


def _plain_english(text: str) -> bool:
    """4-14 words of plain letters and punctuation, no profanity or keyword."""
    return (FORTUNE_WORDS[0] <= len(text.split()) <= FORTUNE_WORDS[1] and re.fullmatch(r"[a-z ,.'?!-]+", text) is not None
            and not EN_BLOCKED_WORDS.search(text))


def _konlpy_dir() -> Path:
    spec = importlib.util.find_spec("konlpy")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("konlpy is needed for Korean sentences: pip install konlpy")
    return Path(spec.origin).parent


def _okt(name: str) -> list[str]:
    jar = _konlpy_dir() / "java" / "open-korean-text-2.1.0.jar"
    with zipfile.ZipFile(jar) as z:
        return z.read(OKT_PREFIX + name).decode("utf-8").splitlines()


def _clean_korean(line: str) -> str:
    line = re.sub(r"@\w+|https?://\S+|#\S+", " ", line)
    line = re.sub(r"[ㄱ-ㅎㅏ-ㅣ]+", " ", line)  # bare jamo: ㅋㅋ, ㅠㅠ
    line = re.sub(r"[^가-힣0-9 ,.?!]", " ", line)
    line = re.sub(r"([.?!,])\1+", r"\1", line)
    return re.sub(r"\s+", " ", line).strip(" ,.")


def _korean_filter(texts: list[str]) -> list[str]:
    blocked = tuple(_okt("noun/profane.txt")) + KO_BLOCKLIST_STEMS
    out, seen = [], set()
    for text in texts:
        if 4 <= len(text) <= 60 and text not in seen and not any(b in text for b in blocked):
            seen.add(text)
            out.append(text)
    return out


def _chunk_combinations(count: int, seed: int) -> list[str]:
    """``count`` strings of 3-6 random example chunks: word salad, but real Korean words and endings."""
    chunks = [c for c in _okt("example_chunks.txt") if 1 < len(c) < 8]
    rng = random.Random(seed)
    return [" ".join(rng.sample(chunks, rng.randint(3, 6))) for _ in range(count)]


def korean_sentences() -> list[str]:
    texts = list(KO_PHONE)
    texts += [_clean_korean(t) for t in _okt("example_tweets.txt")]
    for corpus in ("kobill", "kolaw"):
        for path in sorted((_konlpy_dir() / "data" / "corpus" / corpus).glob("*.txt")):
            body = path.read_text(encoding="utf-8", errors="ignore")
            texts += [_clean_korean(s) for s in re.split(r"(?<=[.?!])\s+|\n", body)]
    texts += _chunk_combinations(1500, seed=7)
    return _korean_filter(texts)


def english_sentences(count: int = 3000, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out, seen = [], set()
    for _ in range(count * 3):
        body = rng.choice(EN_BODIES)
        for key, values in EN_FILL.items():
            while "{" + key + "}" in body:
                body = body.replace("{" + key + "}", rng.choice(values), 1)
        text = " ".join(p for p in (rng.choice(EN_OPENERS), body, rng.choice(EN_CLOSERS)) if p)
        if text not in seen and not EN_BLOCKED_WORDS.search(text):
            seen.add(text)
            out.append(text)
        if len(out) >= count:
            break
    return out


def fortune_sentences(limit: int | None = FORTUNE_SENTENCES, root: Path = FORTUNES_DIR) -> list[str]:
    """Up to ``limit`` plain English sentences of 4-14 words from the fortunes
    files (Debian ``fortunes``), lower-cased, profanity and keywords filtered,
    chosen by a stable hash; none when the package is not installed."""
    if not root.is_dir():
        LOG.warning("%s not found (apt-get install fortunes): English negatives from templates only", root)
        return []
    found: set[str] = set()
    for path in sorted(root.iterdir()):
        if path.is_symlink() or not path.is_file() or path.suffix == ".dat":
            continue
        for fortune in path.read_text(encoding="utf-8", errors="ignore").split("\n%\n"):
            body = " ".join(line.strip() for line in fortune.splitlines() if not line.strip().startswith("--"))
            for sentence in re.split(r"(?<=[.?!])\s+", body):
                sentence = sentence.strip().lower()
                if _plain_english(sentence):
                    found.add(sentence)
    return _hash_order(found)[:limit]


def base_sentences(language: str) -> list[str]:
    """The texts every split draws its conversation from (train, val and test by hash)."""
    return korean_sentences() if language == "ko" else english_sentences() + fortune_sentences()


def more_sentences(language: str) -> list[str]:
    """Texts outside :func:`base_sentences`, for extra training negatives: for English the
    fortunes sentences past the first ``FORTUNE_SENTENCES``, for Korean 6,000 more chunk
    combinations (another seed). Val and test never change when this pool does."""
    if language == "ko":
        base = set(korean_sentences())
        return [t for t in _korean_filter(_chunk_combinations(6000, seed=8)) if t not in base]
    return fortune_sentences(limit=None)[FORTUNE_SENTENCES:]


def fetch_wide_sources(root: Path = WIDE_ROOT) -> None:
    """Download the wide pool's Debian packages and unpack them under ``root``/<package> (once)."""
    for package in WIDE_PACKAGES.values():
        target = root / package
        if (target / ".unpacked").exists():
            continue
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run(["apt-get", "download", package], cwd=tmp, capture_output=True, text=True)
            debs = sorted(Path(tmp).glob("*.deb"))
            if done.returncode or not debs:
                raise RuntimeError(f"apt-get download {package} failed: {done.stderr.strip()[-300:]}")
            target.mkdir(parents=True, exist_ok=True)
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(target)], check=True)
            (target / ".unpacked").write_text(debs[0].name + "\n", encoding="utf-8")
        LOG.info("unpacked %s into %s", debs[0].name, target)


def wordnet_examples(root: Path = WIDE_ROOT / WIDE_PACKAGES["en"]) -> list[str]:
    """The quoted usage examples of WordNet's glosses ("i like to go fishing on weekends"),
    4-14 words, plain letters, profanity and keywords filtered, in stable hash order."""
    folder = root / "usr" / "share" / "wordnet"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found: run kwstrain.pipeline data for a wide-pool split, "
                                "which unpacks wordnet-base there")
    found: set[str] = set()
    for part in ("noun", "verb", "adj", "adv"):
        for line in (folder / f"data.{part}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  ") or "|" not in line:  # the licence header, or no gloss
                continue
            for quoted in re.findall(r'"([^"]+)"', line.split("|", 1)[1]):
                text = re.sub(r"\s+", " ", quoted).strip().lower()
                if _plain_english(text):
                    found.add(text)
    return _hash_order(found)


def help_sentences(root: Path = WIDE_ROOT / WIDE_PACKAGES["ko"]) -> list[str]:
    """Korean sentences and headings of the LibreOffice help pages, none with Latin letters
    (menu names, product names), cleaned and filtered like the other Korean texts."""
    folder = root / "usr" / "share" / "libreoffice" / "help" / "ko"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found: run kwstrain.pipeline data for a wide-pool split, "
                                "which unpacks libreoffice-help-ko there")
    texts: list[str] = []
    for page in sorted(folder.rglob("*.html")):
        body = unescape(re.sub(r"<[^>]+>", "\n", page.read_text(encoding="utf-8", errors="ignore")))
        for piece in re.split(r"(?<=[.?!])\s+|\n", body):
            if re.search(r"[가-힣]", piece) and not re.search(r"[A-Za-z]", piece):
                text = _clean_korean(piece)
                if len(text.split()) >= 2:
                    texts.append(text)
    return _hash_order(_korean_filter(texts))


def wide_sentences(language: str, root: Path = WIDE_ROOT) -> list[str]:
    """The wide pool: other kinds of text than the conversation pools, for training negatives only."""
    return list(_wide_texts(language, root))


@functools.lru_cache(maxsize=4)
def _wide_texts(language: str, root: Path) -> tuple[str, ...]:
    # read once per process: planning a split that skips other splits' texts plans those splits too
    if language == "ko":
        return tuple(help_sentences(root / WIDE_PACKAGES["ko"]))
    return tuple(wordnet_examples(root / WIDE_PACKAGES["en"]))


def sentences(language: str, split: str, pool: str = "base") -> list[str]:
    """The ``split``'s share of a pool of texts: ``base`` (:func:`base_sentences`), ``more``
    (:func:`more_sentences`) or ``wide`` (:func:`wide_sentences`)."""
    if pool not in POOLS:
        raise ValueError(f"unknown text pool {pool!r} (known: {', '.join(POOLS)})")
    return [t for t in POOLS[pool](language) if split_of(t) == split]


POOLS = {"base": base_sentences, "more": more_sentences, "wide": wide_sentences}  # pool name -> its texts
