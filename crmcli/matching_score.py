"""Duplicate matching: blocking keys, pair scoring with reasons, and the two bands.

Split out of `crmcli/matching.py` (which owns the name, pinyin and company keys this module
consumes). Pure and deterministic: records come in as `MatchRecord`s, pairs go out as a score
and the reasons that add up to it, e.g. `mobile identical (+7); name same pinyin (+3.5)`.

The score is additive, explainable evidence, close to a log-likelihood ratio: a personal mobile
or e-mail shared by two records is strong, a landline shared by an office is weak, a name shared
by hundreds of records counts for little (unless the two also share a mobile or an e-mail few
records hold), and a clear contradiction (different given names, different genders) vetoes.
Thresholds were set on `benchmarks/run_dedupe.py` (labelled data with family, colleague and
namesake look-alikes).

Contact details reach this module either as plaintext (the spreadsheet cleanup, tests) or as
the store's keyed hashes (`token`s): equality is all that blocking and e-mail scoring need, and
only near-phone scoring (one typo or transposition) needs digits.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crmcli import matching

LIKELY = 7.5  # a group whose weakest link reaches this is merged by `dedupe --merge-likely`
POSSIBLE = 4.5  # below this a pair is not proposed at all
BANDS = ("likely", "possible")

_CN_MOBILE = re.compile(r"^\+861[3-9]\d{9}$")

# Weights (points). Tuned on the labelled benchmark; see the module docstring.
W_MOBILE = 7.0  # a mobile is personal: the same one is nearly always the same person
W_PHONE = 5.5  # a number whose kind we cannot tell (US numbers are mobile or landline alike)
W_LANDLINE = 4.0  # families and offices share landlines
W_EXTRA_PHONE = 0.5  # each further shared phone adds a little
W_NEAR_PHONE = 2.5  # one digit mistyped or two swapped
W_EMAIL = 7.0
W_NAME_SAME = 4.0
W_NAME_PINYIN = 3.5
W_NAME_WORDS = 3.5
W_NAME_NICK = 3.0
W_NAME_SIMILAR = 3.0  # the most a fuzzy name match can add
W_NAME_ONE_CHAR = -1.0  # 张伟/张玮: a typo, or a brother; the phones decide
W_NAME_DIFFERS = -6.0  # a veto: colleagues and family share phones and companies, not names
W_ORG_DIFFERS = -4.0
W_COMPANY_KEY = 1.5
W_COMPANY_CORE = 1.0
W_GENDER_DIFFERS = -3.0
W_KIND_DIFFERS = -3.0
SHARED_FREE = 4  # a phone or e-mail held by up to this many records counts in full
COMMON_NAME_FLOOR = 0.4  # a very common name still counts for this share of its weight


def band_of(score: float) -> str | None:
    if score >= LIKELY:
        return "likely"
    if score >= POSSIBLE:
        return "possible"
    return None


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class PhoneFacts:
    """What matching needs of one phone: its canonical forms and an equality token."""

    token: str  # "t:" + a keyed hash of the last 8 digits (store), or the digits themselves
    e164: str | None = None
    digits: str = ""  # national significant digits; "" when unknown (no key to decrypt)
    kind: str = field(init=False, default="phone")
    """'mobile', 'landline' or 'phone' (cannot tell: US numbers, unparsed numbers)."""

    def __post_init__(self) -> None:
        # Computed once per phone, not per pair.
        if self.e164 and self.e164.startswith("+86"):
            kind = "mobile" if _CN_MOBILE.match(self.e164) else "landline"
            object.__setattr__(self, "kind", kind)

    def __reduce__(self) -> tuple[type[PhoneFacts], tuple[str, str | None, str]]:
        # A frozen slotted dataclass unpickles field by field through dataclasses' generic
        # __setstate__ (~3 µs a phone); an import's worker sends ~1.4 a row.
        return PhoneFacts, (self.token, self.e164, self.digits)

    @property
    def identity(self) -> str:
        """What makes two phones the same: E.164 when known (the last 8 digits would tie
        13812345678 to 13912345678), else the last-8 token."""
        return "x:" + self.e164 if self.e164 else self.token

    def same_as(self, other: PhoneFacts) -> bool:
        if self.e164 and other.e164:
            return self.e164 == other.e164
        return self.token == other.token


_NO_KEYS: frozenset[str] = frozenset()


class MatchRecord:
    """One customer as the matcher sees it; build with `match_record`.

    What pypinyin must compute (syllables, folded company names, the blocking keys) is
    computed on first use and kept, unless it comes stored (`facts`): a dedupe run reads the
    stored keys, pinyin and facts, and never imports pypinyin. Slotted: a 1M-customer run
    holds most customers at once.
    """

    __slots__ = (
        "_company_fold",
        "_keys",
        "_name_block",
        "_org_key",
        "_syllables",
        "cjk",
        "company",
        "company_key",
        "email_set",
        "emails",
        "gender",
        "id",
        "kind",
        "long_digits",
        "name",
        "name_key",
        "near_keys",
        "phone_keys",
        "phones",
        "pinyin",
        "sorted_words",
        "words",
    )

    def __init__(
        self,
        id: int,
        kind: str,
        name: str,
        name_key: str,
        company: str | None,
        company_key: str | None,
        gender: str | None,
        phones: tuple[PhoneFacts, ...],
        emails: tuple[str, ...],
        pinyin: str | None = None,
        facts: Facts | None = None,
    ) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.name_key = name_key
        self.company = company
        self.company_key = company_key
        self.gender = gender
        self.phones = phones
        self.emails = emails  # equality tokens ("e:" + keyed hash, or the address)
        # Per record, not per pair: what scoring tests first. Two phones can be the same only
        # when they share a token or an E.164, so an empty intersection of `phone_keys`
        # rules out every shared phone without comparing them one by one; two phones one digit
        # apart share a `near_keys` entry (`_near_keys`).
        if phones:
            self.phone_keys = frozenset(
                [p.token for p in phones] + ["x:" + p.e164 for p in phones if p.e164]
            )
            self.long_digits = tuple(p.digits for p in phones if len(p.digits) >= 8)
            self.near_keys = frozenset(k for d in self.long_digits for k in _near_keys(d))
        else:
            self.phone_keys = _NO_KEYS
            self.near_keys = _NO_KEYS
            self.long_digits = ()
        self.email_set = frozenset(emails) if emails else _NO_KEYS
        person = kind != "company"
        self.cjk = person and matching.has_cjk(name_key)
        # CJK names: full pinyin without spaces ('zhangwei'), as the store keeps it per
        # customer (`matching.pinyin_of` the name as typed).
        if self.cjk and not pinyin:
            pinyin = (matching.pinyin_of(name) or ("", ""))[0]
        self.pinyin = (pinyin or "") if self.cjk else ""
        # Latin names: words without initials ('john', 'smith').
        self.words = _latin_words(name_key) if person and not self.cjk else ()
        self.sorted_words = tuple(sorted(self.words))
        self._syllables: tuple[str, ...] | None = None
        self._company_fold: str | None = None
        self._org_key: str | None = None
        self._name_block: str | None = None
        self._keys: frozenset[str] | None = None
        if facts is not None:
            # Stored at write time (`stored_facts`): never computed here.
            self._syllables, self._company_fold, org_key = facts
            if kind == "company":
                self._org_key = org_key

    @property
    def syllables(self) -> tuple[str, ...]:
        if self._syllables is None:
            self._syllables = tuple(matching.pinyin_syllables(self.name_key)) if self.cjk else ()
        return self._syllables

    @property
    def company_fold(self) -> str:
        """The core of the company (a company's own name, or a person's employer),
        pinyin-folded so traditional and simplified spellings meet."""
        if self._company_fold is None:
            source = self.name if self.kind == "company" else self.company
            if not source or not self.name_key:
                self._company_fold = ""
            else:
                self._company_fold = _fold_cjk(matching.company_core_key(source))
        return self._company_fold

    @property
    def org_key(self) -> str:
        """A company's own name without legal form, pinyin-folded."""
        if self._org_key is None:
            self._org_key = _fold_cjk(matching.company_key(self.name)) if self.name_key else ""
        return self._org_key

    @property
    def name_block(self) -> str:
        """The name's blocking key, whose block size says how common the name is."""
        if self._name_block is None:
            if self.kind == "company":
                self._name_block = "c:" + self.company_fold
            elif self.cjk:
                self._name_block = "p:" + self.pinyin
            else:
                self._name_block = "p:" + "".join(sorted(self.words[:1] + self.words[-1:]))
        return self._name_block

    @property
    def keys(self) -> frozenset[str]:
        if self._keys is None:
            self._keys = frozenset(blocking_keys(self))
        return self._keys

    def __reduce__(self) -> tuple[Callable[..., MatchRecord], tuple]:
        """Pickled as its inputs plus what pypinyin gave (facts) and its keys: an import's
        worker process builds records and the main process scores them, so pickling computes
        the facts in the worker, and the main process never runs pypinyin for them."""
        facts = (self.syllables, self.company_fold, self.org_key if self.kind == "company" else "")
        inputs = (self.id, self.kind, self.name, self.name_key, self.company, self.company_key)
        rest = (self.gender, self.phones, self.emails, self.pinyin, facts)
        return _unpickle_record, (*inputs, *rest, tuple(self.keys))

    def release_keys(self) -> None:
        """Forget the blocking keys (computed again if asked for): a matcher holding many
        records that has indexed their keys need not keep a second copy (~0.9 KB a record)."""
        self._keys = None


def _unpickle_record(*args: Any) -> MatchRecord:
    *inputs, keys = args
    rec = MatchRecord(*inputs)
    rec._keys = frozenset(keys)  # as computed in the worker: not derived again
    return rec


# What a record needs of pypinyin, computed when its keys are (at write time) and stored beside
# them, so that scoring reads it instead: (name syllables, company fold, org key).
Facts = tuple[tuple[str, ...], str, str]
FACTS_PREFIX = "~m:"  # sorts after every blocking key ("c:" … "t:"): never a block
_SEP = "\t"  # the keys fold control characters to spaces, so a tab never occurs in them


def stored_facts(rec: MatchRecord) -> str | None:
    """The facts of `rec` as one stored key (None when they cannot round-trip)."""
    org_key = rec.org_key if rec.kind == "company" else ""
    parts = (" ".join(rec.syllables), rec.company_fold, org_key)
    if any(_SEP in part for part in parts):
        return None
    return FACTS_PREFIX + _SEP.join(parts)


def parse_facts(key: str) -> Facts | None:
    """The inverse of `stored_facts` (None for anything else)."""
    if not key.startswith(FACTS_PREFIX):
        return None
    parts = key[len(FACTS_PREFIX) :].split(_SEP)
    if len(parts) != 3:
        return None
    return tuple(parts[0].split()), parts[1], parts[2]


def _fold_cjk(text: str) -> str:
    """Pinyin-fold text with CJK (traditional and simplified meet); others lose their spaces."""
    pinyin = matching.pinyin_of(text)
    return pinyin[0] if pinyin else text.replace(" ", "")


def _latin_words(name_key: str) -> tuple[str, ...]:
    words = [w for w in name_key.split() if len(w) > 1]  # middle initials say little
    return tuple(words or name_key.split())


def match_record(
    id: int,
    *,
    kind: str | None,
    name: str,
    company: str | None = None,
    gender: str | None = None,
    phones: Sequence[PhoneFacts] = (),
    emails: Sequence[str] = (),
    name_key: str | None = None,
    pinyin: str | None = None,
    company_key: str | None = None,
    facts: Facts | None = None,
) -> MatchRecord:
    """Prepare one record. `name_key`, `pinyin`, `company_key` and `facts` may come
    precomputed (the store keeps them); they must equal what `crmcli.matching` computes from
    name/company."""
    return MatchRecord(
        id=id,
        kind=kind or "person",
        name=name,
        name_key=matching.name_key(name) if name_key is None else name_key,
        company=company,
        company_key=(company_key if company_key is not None else matching.company_key(company))
        if company
        else None,
        gender=gender,
        phones=tuple(phones),
        emails=tuple(emails),
        pinyin=pinyin,
        facts=facts,
    )


# ---------------------------------------------------------------------------------------------
# Blocking


def blocking_keys(rec: MatchRecord) -> set[str]:
    """The keys that bring candidate pairs together: two records sharing one are compared.

    Phones and e-mails contribute their tokens (keyed hashes in the store); names their exact
    key and pinyin (both orders for a Latin name, which also meets a romanised Chinese one),
    nickname expansions, and surname + company core (a typo in a name at the same company).
    Nothing here is plaintext contact data.
    """
    keys = {p.token for p in rec.phones} | set(rec.emails)
    if not rec.name_key:
        return keys
    if rec.kind == "company":
        if rec.company_fold:
            keys.add("c:" + rec.company_fold)
        return keys
    keys.add("n:" + rec.name_key)
    if rec.cjk:
        keys.add("p:" + rec.pinyin)
        surnames = rec.syllables[:1]
    else:
        first, last = rec.words[0], rec.words[-1]
        keys.add("p:" + first + last)
        keys.add("p:" + last + first)
        keys.add(rec.name_block)
        for canonical in matching.nickname_canonicals(first):
            if canonical != first:
                keys.add("k:" + canonical + last)
        surnames = (first, last) if len(rec.words) > 1 else ()
    if rec.company_fold:
        keys.update(f"s:{s}|{rec.company_fold}" for s in surnames)
    return keys


# ---------------------------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True, slots=True)
class Evidence:
    label: str
    points: float

    def __str__(self) -> str:
        return f"{self.label} ({_points(self.points)})"


def _points(value: float) -> str:
    text = f"{value:+.1f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True, slots=True)
class PairScore:
    a: int
    b: int
    score: float
    evidence: tuple[Evidence, ...]

    @property
    def band(self) -> str | None:
        return band_of(self.score)

    @property
    def reasons(self) -> list[str]:
        return [str(e) for e in self.evidence]


Frequency = Callable[[str], int]


def _one_frequency(_key: str) -> int:
    return 2


def shared_factor(k: int) -> float:
    """Weight of a phone or e-mail held by `k` records: full up to 3 (one customer entered
    three times is common), then falling as 3/k (an office switchboard)."""
    return 1.0 if k <= SHARED_FREE else max(0.1, SHARED_FREE / k)


def common_factor(k: int) -> float:
    """Weight of name evidence when `k` records share the name: 1 up to 4, then falling slowly."""
    if k <= 4:
        return 1.0
    return max(COMMON_NAME_FLOOR, 1.0 / (1.0 + math.log2(k / 4.0)))


def _near_keys(digits: str) -> tuple[str, str]:
    """Two numbers one digit apart (`_near_digits`) share one of these: the length with the
    first k digits, or the length with the last k digits (see there)."""
    n = len(digits)
    k = (n - 1) // 2
    return f"{digits[:k]}<{n}", f"{n}>{digits[n - k :]}"


def _near_digits(a: str, b: str) -> bool:
    """One substitution or one adjacent transposition between equally long digit strings."""
    n = len(a)
    if n != len(b) or n < 8 or a == b:
        return False
    # The differences of a near pair are at most one apart, so they cannot lie both in the
    # first k and in the last k digits (at least one digit between them): a cheap refusal of
    # most unrelated numbers.
    k = (n - 1) // 2
    if a[:k] != b[:k] and a[n - k :] != b[n - k :]:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and (a[diff[1]] == b[diff[0]])
    )


def _phone_evidence(a: MatchRecord, b: MatchRecord, freq: Frequency) -> list[Evidence]:
    if not a.phone_keys.isdisjoint(b.phone_keys):
        shared = _shared_phones(a, b, freq)
        if shared:
            return shared
    for da in a.long_digits:
        for db in b.long_digits:
            if _near_digits(da, db):
                return [Evidence("phone one digit apart", W_NEAR_PHONE)]
    return []


def _shared_phones(a: MatchRecord, b: MatchRecord, freq: Frequency) -> list[Evidence]:
    shared: dict[str, Evidence] = {}
    for pa in a.phones:
        for pb in b.phones:
            if not pa.same_as(pb):
                continue
            kind = pa.kind if pa.kind == pb.kind else "phone"
            base = {"mobile": W_MOBILE, "landline": W_LANDLINE}.get(kind, W_PHONE)
            if kind == "landline" and a.kind == b.kind == "company":
                base = W_PHONE  # a company's own switchboard identifies it
            k = max(freq(pa.identity), freq(pb.identity))
            label = f"{kind} identical" + (f", shared by {k} records" if k > SHARED_FREE else "")
            ev = Evidence(label, round(base * shared_factor(k), 1))
            if pa.identity not in shared or ev.points > shared[pa.identity].points:
                shared[pa.identity] = ev
    if shared:
        best = sorted(shared.values(), key=lambda e: -e.points)
        extra = len(best) - 1
        out = [best[0]]
        if extra:
            out.append(Evidence(f"{extra} more phone(s) identical", W_EXTRA_PHONE * extra))
        return out
    return []


def _email_evidence(a: MatchRecord, b: MatchRecord, freq: Frequency) -> list[Evidence]:
    if a.email_set.isdisjoint(b.email_set):
        return []
    common = a.email_set & b.email_set
    if not common:
        return []
    k = max(freq(e) for e in common)
    label = "email identical" + (f", shared by {k} records" if k > SHARED_FREE else "")
    return [Evidence(label, round(W_EMAIL * shared_factor(k), 1))]


def _ratio(x: str, y: str) -> float:
    return matching.similarity(x, y) / 100.0


def _latin_name(a: MatchRecord, b: MatchRecord) -> tuple[str, float] | None:
    """Evidence from two Latin names, or None when they neither agree nor clearly differ."""
    wa, wb = a.words, b.words
    if a.sorted_words == b.sorted_words:
        return "name same words", W_NAME_WORDS
    if len(wa) < 2 or len(wb) < 2:
        s = _ratio(" ".join(wa), " ".join(wb))
        return _graded(s)
    best: tuple[str, float] | None = None
    for fa, la in ((wa[0], wa[-1]), (wa[-1], wa[0])):
        fb, lb = wb[0], wb[-1]
        if la == lb and (matching.nickname_canonicals(fa) & matching.nickname_canonicals(fb)):
            return f"name nickname {fa} = {fb}", W_NAME_NICK
        first, last = _ratio(fa, fb), _ratio(la, lb)
        if first >= 0.75 and last >= 0.75:
            s = _ratio(fa + " " + la, fb + " " + lb)
            cand = (f"name similar {s:.2f}", _similar_points(s))
        elif min(first, last) < 0.6:
            cand = ("names differ", W_NAME_DIFFERS)
        else:
            cand = ("names partly alike", 0.0)
        if best is None or cand[1] > best[1]:
            best = cand
    return best


def _similar_points(s: float) -> float:
    return round(max(0.5, min(W_NAME_SIMILAR, (s - 0.75) * 12)), 1)


def _graded(s: float) -> tuple[str, float]:
    if s >= 0.85:
        return f"name similar {s:.2f}", _similar_points(s)
    if s < 0.6:
        return "names differ", W_NAME_DIFFERS
    return "names partly alike", 0.0


def _cjk_name(a: MatchRecord, b: MatchRecord) -> tuple[str, float]:
    if a.pinyin == b.pinyin:
        return "name same pinyin", W_NAME_PINYIN
    x, y = a.name_key, b.name_key
    if len(x) == len(y) and sum(c1 != c2 for c1, c2 in zip(x, y, strict=True)) == 1:
        return "name one character differs", W_NAME_ONE_CHAR
    if abs(len(x) - len(y)) == 1 and (x in y or y in x or _ratio(x, y) >= 0.8):
        return "name one character more", W_NAME_ONE_CHAR
    return _graded(_ratio(" ".join(a.syllables), " ".join(b.syllables)))


def _mixed_name(cjk: MatchRecord, latin: MatchRecord) -> tuple[str, float]:
    words = latin.words
    joined = {"".join(words), "".join(reversed(words))}
    if cjk.pinyin in joined:
        return "name same pinyin", W_NAME_PINYIN
    s = max(_ratio(cjk.pinyin, j) for j in joined)
    return _graded(s)


def _vouched(a: MatchRecord, b: MatchRecord, freq: Frequency) -> bool:
    """Do the two records share a personal contact detail that few records hold?

    An e-mail, a mobile, a number of unknown kind, or a company's own switchboard, held by at
    most `SHARED_FREE` records; not a person's landline (families and offices share those).
    The common-name discount guards against namesakes: two of a thousand 王伟 who also share
    such a number are not a coincidence of names, so their names count in full (at 1M
    customers the discount otherwise sent a tenth of the true pairs to "possible").
    """
    for e in a.email_set & b.email_set:
        if freq(e) <= SHARED_FREE:
            return True
    if a.phone_keys.isdisjoint(b.phone_keys):
        return False
    for pa in a.phones:
        for pb in b.phones:
            if not pa.same_as(pb) or max(freq(pa.identity), freq(pb.identity)) > SHARED_FREE:
                continue
            landline = pa.kind == pb.kind == "landline"  # as `_shared_phones` weighs it
            if not landline or a.kind == b.kind == "company":
                return True
    return False


def _name_factor(
    a: MatchRecord, b: MatchRecord, freq: Frequency, vouched: bool
) -> tuple[float, int]:
    """How much of its weight name evidence keeps, and how many records share the name."""
    k = max(freq(a.name_block), freq(b.name_block))
    return (1.0 if vouched else common_factor(k)), k


def _person_name(
    a: MatchRecord, b: MatchRecord, freq: Frequency, vouched: bool = False
) -> list[Evidence]:
    if not a.name_key or not b.name_key:
        return []
    if a.name_key == b.name_key:
        found: tuple[str, float] | None = ("name identical", W_NAME_SAME)
    elif a.cjk and b.cjk:
        found = _cjk_name(a, b)
    elif a.cjk or b.cjk:
        found = _mixed_name(a, b) if a.cjk else _mixed_name(b, a)
    else:
        found = _latin_name(a, b)
    if found is None or found[1] == 0:
        return [Evidence(found[0], 0.0)] if found else []
    label, points = found
    if points > 0:
        factor, k = _name_factor(a, b, freq, vouched)
        if factor < 1:
            label += f", common name ({k} records)"
            points = round(points * factor, 1)
    return [Evidence(label, points)]


def _org_name(
    a: MatchRecord, b: MatchRecord, freq: Frequency, vouched: bool = False
) -> list[Evidence]:
    if not a.name_key or not b.name_key:
        return []
    if a.org_key == b.org_key:
        label, points = "name same after legal form", W_NAME_SAME
    elif a.company_fold and a.company_fold == b.company_fold:
        label, points = "name same core", W_NAME_PINYIN - 0.5
    else:
        s = _ratio(a.company_fold, b.company_fold)
        if s >= 0.85:
            label, points = f"name similar {s:.2f}", _similar_points(s)
        elif s < 0.5:
            return [Evidence("names differ", W_ORG_DIFFERS)]
        else:
            return [Evidence("names partly alike", 0.0)]
    factor, k = _name_factor(a, b, freq, vouched)
    if factor < 1:
        label += f", common name ({k} records)"
        points = round(points * factor, 1)
    return [Evidence(label, points)]


def _company_evidence(a: MatchRecord, b: MatchRecord) -> list[Evidence]:
    if not a.company_key or not b.company_key:
        return []
    if a.company_key == b.company_key:
        return [Evidence("company same after legal form", W_COMPANY_KEY)]
    if a.company_fold and a.company_fold == b.company_fold:
        return [Evidence("company same core", W_COMPANY_CORE)]
    return []


def may_reach(
    a: MatchRecord, b: MatchRecord, threshold: float, freq: Frequency = _one_frequency
) -> bool:
    """False only when `score_pair(a, b, freq).score` is surely below `threshold`.

    An upper bound from the cheap evidence, taken before the dear one (names): a shared phone
    or e-mail says "maybe" at once; otherwise a near phone, the company, the genders and the
    best the names could give (identical, discounted when common) must reach the threshold.
    Most candidate pairs are namesakes with nothing else in common, and stop here.
    """
    if not a.phone_keys.isdisjoint(b.phone_keys) or not a.email_set.isdisjoint(b.email_set):
        return True
    threshold -= 0.05  # the total is rounded to 0.1
    if a.kind != b.kind:
        bound = W_KIND_DIFFERS
    else:
        bound = 0.0
        if a.name_key and b.name_key:
            bound = _name_bound(max(freq(a.name_block), freq(b.name_block)))
        if a.kind != "company":
            if a.company_key and b.company_key:
                if a.company_key == b.company_key:
                    bound += W_COMPANY_KEY
                elif a.company_fold and a.company_fold == b.company_fold:
                    bound += W_COMPANY_CORE
            if a.gender and b.gender and a.gender != b.gender:
                bound += W_GENDER_DIFFERS
    if bound >= threshold:
        return True
    if bound + W_NEAR_PHONE < threshold or a.near_keys.isdisjoint(b.near_keys):
        return False
    return any(_near_digits(da, db) for da in a.long_digits for db in b.long_digits)


@functools.lru_cache(maxsize=4096)
def _name_bound(k: int) -> float:
    """The most name evidence can give when `k` records share the name."""
    return round(W_NAME_SAME * common_factor(k), 1)


def score_pair(a: MatchRecord, b: MatchRecord, freq: Frequency = _one_frequency) -> PairScore:
    """Score two records: the sum of the evidence, each piece with its reason. Symmetric.

    `freq(key)` is how many records hold a blocking key (a phone or e-mail token, a name
    block); shared contact details and names count less the more records share them.
    """
    if a.id > b.id:
        a, b = b, a
    evidence: list[Evidence] = []
    evidence += _phone_evidence(a, b, freq)
    evidence += _email_evidence(a, b, freq)
    if a.kind != b.kind:
        evidence.append(Evidence("one is a person, one a company", W_KIND_DIFFERS))
    elif a.kind == "company":
        evidence += _org_name(a, b, freq, bool(evidence) and _vouched(a, b, freq))
    else:
        evidence += _person_name(a, b, freq, bool(evidence) and _vouched(a, b, freq))
        evidence += _company_evidence(a, b)
        if a.gender and b.gender and a.gender != b.gender:
            evidence.append(Evidence("gender differs", W_GENDER_DIFFERS))
    evidence = [e for e in evidence if e.points != 0 or e.label == "names partly alike"]
    total = round(sum(e.points for e in evidence), 1)
    return PairScore(a.id, b.id, total, tuple(evidence))
