"""Matching: the keys that make two spellings of one customer meet, and (later) pair scoring.

This module owns what "the same name" and "the same company" mean for search and for duplicate
blocking: `name_key`, `company_key`, `company_core_key`, pinyin and nickname expansions. Every
function is pure and deterministic, and every key is idempotent (key(key(x)) == key(x)), so keys
can be stored and recomputed safely.

Heavy libraries (pypinyin, nicknames, rapidfuzz) are imported inside the functions that use them
and their results cached: a script that runs `crmcli search` a thousand times must not pay for them
at every start.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING

from crmcli.normalize import clean_text

if TYPE_CHECKING:
    from nicknames import NickNamer

# Han ideographs only (not kana or hangul): these are what pinyin and the CJK name rules apply to.
_CJK_CLASS = (
    "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef\U00030000-\U0003134f"
)
_APOSTROPHES = re.compile(r"['’‘`´]")


@functools.cache
def _cjk_run() -> re.Pattern[str]:
    # Compiled on first use: the astral ranges make this the slowest pattern in the package.
    return re.compile(f"[{_CJK_CLASS}]+")


def has_cjk(text: str) -> bool:
    """True when `text` holds at least one Han character."""
    return _cjk_run().search(text) is not None


def _join_cjk(tokens: list[str]) -> str:
    """Single-space the tokens, but glue neighbouring CJK runs: '张 伟' is one name, '张伟'."""
    run = _cjk_run()
    out: list[str] = []
    for token in tokens:
        if out and run.fullmatch(token) and run.fullmatch(out[-1]):
            out[-1] += token
        else:
            out.append(token)
    return " ".join(out)


def _fold(text: str) -> str:
    """NFKC + case-fold + punctuation and symbols to spaces; CJK runs set apart as tokens."""
    text = clean_text(text) or ""
    text = unicodedata.normalize("NFKC", text.casefold())
    text = _APOSTROPHES.sub("", text)  # O'Brien is one word
    text = "".join(
        " " if unicodedata.category(ch)[0] in "PSZC" and ch != "&" else ch for ch in text
    )
    text = _cjk_run().sub(lambda m: f" {m.group(0)} ", text)
    return _join_cjk(text.split())


def _to_fixpoint(step: Callable[[str], str], text: str) -> str:
    for _ in range(8):
        nxt = step(text)
        if nxt == text:
            break
        text = nxt
    return text


# ---------------------------------------------------------------------------------------------
# Person names

_LATIN_HONORIFICS = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "madam", "mme", "mlle"}
)
# Titles a Chinese speaker puts after a surname: 王总, 李经理, 张先生.
_ZH_TITLES = ("总经理", "董事长", "先生", "女士", "小姐", "老师", "经理", "总监", "主任", "老板")
_ZH_TITLE_RE = re.compile(f"(?:{'|'.join(_ZH_TITLES)})$")


def _strip_zh_title(run: str) -> str:
    stripped = _ZH_TITLE_RE.sub("", run)
    if stripped and stripped != run:
        return stripped
    # 总 is a title only right after a (possibly compound) surname: 王总, 欧阳总; 李总强 is a name.
    if run.endswith("总") and 2 <= len(run) <= 3:
        return run[:-1]
    return run


def _name_key_once(name: str) -> str:
    text = clean_text(name) or ""
    before, comma, after = text.partition(",")
    if comma and "," not in after and not has_cjk(text) and before.strip() and after.strip():
        text = f"{after} {before}"  # "Smith, John" is filed surname first
    tokens = _fold(text).split()
    kept = [t for t in tokens if t not in _LATIN_HONORIFICS]
    tokens = kept or tokens  # "Miss" alone is still a name
    return " ".join(_strip_zh_title(t) if has_cjk(t) else t for t in tokens)


@functools.lru_cache(maxsize=65536)  # pure; names and companies repeat a lot
def name_key(name: str) -> str:
    """The comparable form of a person's name.

    'Mr. John  SMITH' and 'Smith, John' -> 'john smith'; '张 伟' -> '张伟'; '王总' -> '王'.
    Case-folded, punctuation gone, honorifics dropped (unless nothing else is left).
    """
    return _to_fixpoint(_name_key_once, name)


def name_tokens(name: str) -> list[str]:
    """Words of `name_key`: Latin words one by one, each run of CJK as one token."""
    return name_key(name).split()


# ---------------------------------------------------------------------------------------------
# Pinyin


@functools.lru_cache(maxsize=65536)
def _syllables(text: str) -> tuple[str, ...]:
    from pypinyin.seg.simpleseg import seg

    folded = unicodedata.normalize("NFKC", text).casefold()
    by_char = _char_by_char(folded)
    if by_char is not None:
        return by_char
    # `lazy_pinyin(folded)`, a word at a time. lazy_pinyin segments the text (`seg`: runs of
    # Han and of other characters, the Han runs cut by longest phrase) and converts each word on
    # its own; a word of that cut is cut into itself again, so `lazy_pinyin(word)` gives the
    # word's part of the answer. Company names share most of their words (科技, 有限公司):
    # ~100 us a new company name before, mostly converting the same words again.
    return tuple(w for word in seg(folded) for w in _word_syllables(word))


@functools.lru_cache(maxsize=65536)
def _word_syllables(word: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    # Polyphonic surnames come out wrong (曾 -> ceng) but consistently: fine for keys.
    return tuple(w for item in lazy_pinyin(word, errors=_latin_words) for w in item.split())


def _latin_words(chunk: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", chunk))


@functools.cache  # bounded by the ~40k Han characters pypinyin knows
def _char_syllables(char: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(w for item in lazy_pinyin(char) for w in item.split())


def _char_by_char(text: str) -> tuple[str, ...] | None:
    """`lazy_pinyin` of an all-Han text that holds no word of pypinyin's phrase table; None
    for any other text.

    Most names are such texts, and then lazy_pinyin reads each character on its own, after
    segmenting and restyling (~20-40 us a name): the same syllables come from a per-character
    cache. tests/test_matching_keys.py compares the two on many names.
    """
    from pypinyin.constants import PHRASES_DICT, RE_HANS

    n = len(text)
    # Looking for every phrase inside is quadratic: a name is short, anything long goes to
    # pypinyin (a fuzzed 10k-character name took minutes here before this bound).
    if n > _CHAR_BY_CHAR_MAX or not RE_HANS.fullmatch(text):
        return None
    if any(text[i:j] in PHRASES_DICT for i in range(n - 1) for j in range(i + 2, n + 1)):
        return None
    return tuple(w for ch in text for w in _char_syllables(ch))


_CHAR_BY_CHAR_MAX = 12  # characters; the longest Chinese personal names have 4-6


def pinyin_syllables(text: str) -> list[str]:
    """'张伟' -> ['zhang', 'wei']; Latin words kept lower-cased; traditional folds to simplified."""
    return list(_syllables(text))


def pinyin_of(text: str) -> tuple[str, str] | None:
    """(full, initials) for text with CJK, e.g. '张伟' -> ('zhangwei', 'zw'); None without CJK."""
    if not has_cjk(text):
        return None
    syllables = _syllables(text)
    return "".join(syllables), "".join(s[0] for s in syllables)


# ---------------------------------------------------------------------------------------------
# Companies

# Longest first, so 股份有限公司 goes before 有限公司 and 公司.
_ZH_LEGAL = ("股份有限公司", "有限责任公司", "有限公司", "分公司", "集团", "公司")
_ZH_LEGAL_RE = re.compile("|".join(_ZH_LEGAL))
_CHINA_IN_PARENS = re.compile(r"\(\s*(?:中国|china|prc)\s*\)")
_DOTTED_ABBREV = re.compile(r"\b(?:[a-z]\.){2,}")
_LATIN_LEGAL = frozenset(
    {
        "co",
        "company",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "llc",
        "gmbh",
        "corp",
        "corporation",
        "plc",
        "sa",
        "ag",
        "bv",
    }
)


def _company_key_once(name: str) -> str:
    text = unicodedata.normalize("NFKC", (clean_text(name) or "").casefold())
    text = _CHINA_IN_PARENS.sub(" ", text)
    text = _DOTTED_ABBREV.sub(lambda m: m.group(0).replace(".", ""), text)  # L.L.C. -> llc
    folded = _fold(text)
    stripped = _ZH_LEGAL_RE.sub(" ", folded)
    tokens = " ".join(stripped.split()).split() or folded.split()
    while len(tokens) > 1 and tokens[-1] in _LATIN_LEGAL:
        tokens.pop()  # legal forms trail the name; "Co Op Bank" keeps its "co"
    return _join_cjk(tokens)


@functools.lru_cache(maxsize=65536)  # pure; names and companies repeat a lot
def company_key(name: str) -> str:
    """A company name without its legal form: 'Acme Inc.' == 'ACME Incorporated' == 'acme'.

    '深圳某某科技有限公司' -> '深圳某某科技'; '(中国)' and Co., Ltd., LLC, GmbH, … go.
    A name that is nothing but a legal form is kept as it is.
    """
    return _to_fixpoint(_company_key_once, name)


_PLACES = (  # noqa: SIM905 - a word list reads best as words
    # municipalities, provincial capitals and the largest cities
    "北京 上海 天津 重庆 深圳 广州 杭州 南京 苏州 成都 武汉 西安 长沙 郑州 青岛 济南 沈阳 大连 "
    "宁波 厦门 福州 合肥 昆明 南昌 哈尔滨 长春 石家庄 太原 南宁 贵阳 兰州 东莞 佛山 无锡 温州 珠海 "
    "中山 惠州 常州 烟台 泉州 海口 乌鲁木齐 呼和浩特 银川 西宁 拉萨 香港 澳门 "
    # provinces and regions
    "广东 浙江 江苏 山东 河南 河北 湖北 湖南 四川 福建 安徽 江西 辽宁 吉林 黑龙江 山西 陕西 云南 "
    "贵州 广西 海南 甘肃 青海 内蒙古 新疆 西藏 宁夏 台湾 中国"
).split()
_LEADING_PLACE = re.compile(
    "^(?:" + "|".join(sorted(_PLACES, key=len, reverse=True)) + ")(?:市|省|自治区)?"
)
_ZH_GENERIC = (  # noqa: SIM905
    "科技 信息 网络 贸易 技术 电子 实业 发展 商贸 咨询 服务 软件 系统 工程 管理 国际 控股"
).split()
_TRAILING_ZH_GENERIC = re.compile("(?:" + "|".join(_ZH_GENERIC) + ")$")
_LATIN_GENERIC = frozenset(
    {
        "technologies",
        "technology",
        "tech",
        "solutions",
        "systems",
        "services",
        "group",
        "holdings",
        "international",
        "global",
        "trading",
        "the",
    }
)


def _core_once(key: str) -> str:
    tokens = key.split()
    out = []
    for token in tokens:
        if has_cjk(token):
            token = _LEADING_PLACE.sub("", token) or token
            token = _TRAILING_ZH_GENERIC.sub("", token) or token
        out.append(token)
    kept = [t for t in out if t not in _LATIN_GENERIC]
    return " ".join(kept or out)


@functools.lru_cache(maxsize=65536)  # pure; names and companies repeat a lot
def company_core_key(name: str) -> str:
    """`company_key` without a leading city or province and generic industry words.

    '深圳某某科技有限公司' and '某某公司' both -> '某某'; 'Acme Technologies Inc.' -> 'acme'.
    Coarse on purpose: it is a blocking key that brings candidates together, not a verdict.
    """
    return _to_fixpoint(_core_once, company_key(name))


# ---------------------------------------------------------------------------------------------
# Nicknames


@functools.lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    from nicknames import NickNamer

    return NickNamer()


@functools.lru_cache(maxsize=8192)
def nickname_canonicals(first: str) -> frozenset[str]:
    """Canonical forms of a first name, always including the name itself.

    'bob' -> {'bob', 'robert', 'bobby', 'bert'}; 'robert' -> {'robert'}; two first names may be
    the same person when their sets intersect. The table is liberal, so weigh such a match
    below an exact one.
    """
    name = first.strip().lower()
    if not name:
        return frozenset()
    return frozenset({name, *_nicknamer().canonicals_of(name)})


# ---------------------------------------------------------------------------------------------
# Pair scoring and clustering (rapidfuzz) go below: they consume the keys above.


@functools.cache
def _ratio() -> Callable[[str, str], float]:
    from rapidfuzz import fuzz

    return fuzz.ratio


def similarity(a: str, b: str) -> float:
    """0-100 closeness of two keys (rapidfuzz normalised Indel ratio); symmetric."""
    return float(_ratio()(a, b))


def closest_words(word: str, vocabulary: list[str], *, cutoff: float = 75.0) -> list[str]:
    """Vocabulary words within a typo or two of `word` (search's typo-tolerant tier).

    Damerau-Levenshtein-style closeness via rapidfuzz; a transposition ("jonh" for "john")
    scores like one edit. Returns the words, best first.
    """
    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein

    if not vocabulary:
        return []
    limit = max(1, len(word) // 4 + 1)  # edits allowed grow with the word
    hits = process.extract(
        word,
        vocabulary,
        scorer=DamerauLevenshtein.distance,
        score_cutoff=limit,
        limit=20,
    )
    return [w for w, _dist, _i in sorted(hits, key=lambda h: h[1]) if w != ""]
