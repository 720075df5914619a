"""What a customer can be found by, and how a query is read and its results ranked (pure).

The store keeps four search structures per customer, all derived here:

- `terms`: whole keys and words (name key, name words, pinyin in full and as initials,
  company key and words, tags, city, customer number) for the exact and prefix tiers;
- `grams`: every CJK character and CJK pair of the name and company, because SQLite's
  trigram FTS cannot answer 1-2 character queries and most Chinese names are 2-3 characters;
- `vocab`: Latin words, the small dictionary the typo-tolerant tier compares against;
- `body`: free text for trigram FTS (the substring tier), holding only masked contact details.

Ranking is tiered, exact > prefix > substring > fuzzy, and within a tier by similarity to
the name. No phone or email plaintext ever reaches these structures: the masked copies and
the last four digits (which the masked copy shows anyway) are all they hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum

from crmcli import matching
from crmcli.normalize import clean_text

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z][a-z']+")
_PHONE_QUERY = re.compile(r"^\+?[\d\s().\-]{7,}$")
_MAX_WORDS = 12


class Tier(IntEnum):
    EXACT = 0
    PREFIX = 1
    SUBSTRING = 2
    FUZZY = 3


@dataclass
class IndexEntry:
    terms: set[str] = field(default_factory=set)
    grams: set[str] = field(default_factory=set)
    vocab: set[str] = field(default_factory=set)
    body: str = ""


def _key_terms(text: str | None, key: str) -> set[str]:
    terms: set[str] = set()
    if not key:
        return terms
    terms.add(key)
    terms.update(key.split())
    terms.add(key.replace(" ", ""))
    pinyin = matching.pinyin_of(text or "")
    if pinyin:
        full, initials = pinyin
        terms.update((full, initials))
        terms.update(matching.pinyin_syllables(text or ""))
    return {t for t in terms if t}


def _grams(text: str | None) -> set[str]:
    grams: set[str] = set()
    for run in _CJK_RUN.findall(text or ""):
        grams.update(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def index_entry(
    record: dict,
    *,
    tags: list[str],
    phones_masked: list[str],
    emails_masked: list[str],
) -> IndexEntry:
    """Everything the search structures hold for one customer record."""
    name = record.get("name") or ""
    company = record.get("company") or ""
    entry = IndexEntry()
    entry.terms |= _key_terms(name, matching.name_key(name))
    if company:
        entry.terms |= _key_terms(company, matching.company_key(company))
        entry.terms |= _key_terms(company, matching.name_key(company))
    entry.terms.update(tags)
    for value in (record.get("city"), record.get("external_id")):
        if value:
            entry.terms.add(value.casefold())
    entry.grams = _grams(name) | _grams(company)
    entry.vocab = {w for w in _LATIN_WORD.findall(f"{name} {company}".casefold()) if len(w) > 2}
    parts = [
        name,
        company,
        record.get("city"),
        record.get("industry"),
        record.get("needs"),
        record.get("notes"),
        " ".join(tags),
        " ".join(phones_masked),
        " ".join(emails_masked),
    ]
    entry.body = " | ".join(p for p in parts if p).casefold()
    return entry


@dataclass(frozen=True)
class Query:
    """A search string read once: what it looks like decides which lookups run."""

    text: str  # cleaned, case-folded
    key: str  # as a name key ("smith, john" -> "john smith")
    words: tuple[str, ...]
    phone_like: bool
    email_like: bool
    digits: str

    @property
    def compact(self) -> str:
        return self.key.replace(" ", "")

    @property
    def is_short_cjk(self) -> bool:
        return bool(_CJK_RUN.fullmatch(self.compact)) and len(self.compact) < 3

    @property
    def fuzzy_words(self) -> tuple[str, ...]:
        return tuple(w for w in self.words if _LATIN_WORD.fullmatch(w) and len(w) > 2)


def read_query(raw: str) -> Query | None:
    text = clean_text(raw)
    if text is None:
        return None
    folded = text.casefold()
    key = matching.name_key(text) or folded
    return Query(
        text=folded,
        key=key,
        # Distinct words, a bounded number: each becomes a SELECT of an INTERSECT, and SQLite
        # refuses a compound SELECT of more than 500 (a pasted paragraph must not crash search).
        words=tuple(dict.fromkeys(key.split()))[:_MAX_WORDS],
        phone_like=bool(_PHONE_QUERY.match(text)),
        email_like="@" in text,
        digits=re.sub(r"\D", "", text),
    )


def fts_phrase(text: str) -> str:
    """An FTS5 string literal: the query is matched literally, never as FTS syntax."""
    return '"' + text.replace('"', '""') + '"'


def rank(query: Query, tier: Tier, record: dict) -> tuple[int, float, str]:
    """Sort key: tier first, then closeness of the name to the query, then the name."""
    name_key = record.get("name_key") or ""
    candidates = [name_key, name_key.replace(" ", ""), record.get("pinyin") or ""]
    closeness = max(matching.similarity(query.key, c) for c in candidates if c) if name_key else 0
    return (int(tier), -closeness, name_key)
