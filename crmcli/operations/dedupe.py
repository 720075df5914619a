"""Finding duplicate customers: candidates from the stored match keys, scored, grouped.

Never all pairs: two customers are compared only when they share a blocking key (a phone, an
e-mail, a name or its pinyin, a nickname, surname + company; see `crmcli.matching_score`).
A key held by more than `max_block` customers (a very common name, an office switchboard) is
not expanded into pairs: it is reported, and its pairs are compared only when another key
brings them together. Phones are decrypted in bulk, only for the records of candidate pairs,
to tell mobiles from landlines and to see a mistyped digit.

`likely_duplicates_of` answers the same question for one new record (`add`); `score_against` is
its scoring, shared with `import` (`operations.import_duplicates`), which batches the look-ups.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import time
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crmcli import matching_cluster as mc
from crmcli import matching_score as ms
from crmcli.errors import CrmError
from crmcli.store import customers as customers_db
from crmcli.store import match_keys as match_keys_db
from crmcli.store import merges as merges_db

if TYPE_CHECKING:
    from crmcli.credentials import Vault
    from crmcli.models import CustomerDraft
    from crmcli.normalize import Phone
    from crmcli.store import Store

DEFAULT_MAX_BLOCK = 100
NAME_BLOCK_SHARE = 4  # name-derived keys are expanded up to max_block // 4 customers
_NOT_DUPLICATES = ms.PairScore(0, 0, -100.0, (ms.Evidence("marked not duplicates", -100.0),))

MEMBER_FIELDS = (
    "id",
    "external_id",
    "kind",
    "name",
    "company",
    "phones",
    "emails",
    "status",
    "city",
    "first_contact_on",
    "last_contacted_at",
)


@dataclass
class SkippedBlock:
    """A key shared by too many customers to compare them all (said, never silently dropped)."""

    what: str
    size: int


@dataclass
class DuplicateGroup:
    number: int
    band: str  # "likely" or "possible"
    score: float  # the weakest link's score
    weakest: tuple[int, int]
    survivor: int  # suggested: the record to keep when merging
    members: list[dict[str, Any]]
    pairs: list[dict[str, Any]]  # {a, b, score, band, reasons}, best first


@dataclass
class DedupeReport:
    groups: list[DuplicateGroup]
    customers: int
    candidate_pairs: int
    skipped: list[SkippedBlock] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def skipped_records(self) -> int:
        return sum(b.size for b in self.skipped)


def describe_key(key: str) -> str:
    """A blocking key as a person reads it; contact-derived keys are hashes, so no value shown."""
    kind, _, value = key.partition(":")
    return {
        "t": "one phone number",
        "e": "one email address",
        "n": f"the name {value!r}",
        "p": f"the name (pinyin/words) {value!r}",
        "k": f"the nickname form {value!r}",
        "c": f"the company name {value!r}",
        "s": f"surname + company {value!r}",
    }.get(kind, key)


# -- loading records ----------------------------------------------------------------------


def _digits(text: str) -> str:
    return "".join(filter(str.isdigit, text))


def load_records(
    store: Store, ids: Iterable[int], vault: Vault | None
) -> dict[int, ms.MatchRecord]:
    """Match records for these customers; phones decrypted when a vault is given."""
    wanted = sorted(set(ids))
    customers, phones, emails = match_keys_db.match_rows(store, wanted)
    facts = match_keys_db.stored_facts(store, wanted)
    phone_facts: dict[int, list[ms.PhoneFacts]] = {}
    plain = (
        vault.decrypt_many((p[2] for p in phones), context="phone")
        if vault is not None
        else [None] * len(phones)
    )
    for (customer_id, tail8_hash, _blob), text in zip(phones, plain, strict=True):
        e164, digits = None, ""
        if text is not None:
            payload = json.loads(text)
            e164 = payload.get("e164")
            digits = _digits(e164 or payload.get("raw") or "")
        phone_facts.setdefault(customer_id, []).append(
            ms.PhoneFacts("t:" + tail8_hash, e164, digits)
        )
    email_tokens: dict[int, list[str]] = {}
    for customer_id, email_hash in emails:
        email_tokens.setdefault(customer_id, []).append("e:" + email_hash)
    return {
        c["id"]: ms.match_record(
            c["id"],
            kind=c["kind"],
            name=c["name"],
            company=c["company"],
            gender=c["gender"],
            name_key=c["name_key"],
            pinyin=c["pinyin"],
            company_key=c["company_key"],
            phones=phone_facts.get(c["id"], ()),
            emails=email_tokens.get(c["id"], ()),
            facts=ms.parse_facts(facts.get(c["id"], "")),
        )
        for c in customers
    }


def _phone_counts(records: Iterable[ms.MatchRecord]) -> dict[str, int]:
    """How many of these records hold each exact phone (E.164): blocks are by the last 8
    digits, which different numbers can share, so exact counts are taken here."""
    counts: dict[str, int] = {}
    for rec in records:
        for identity in {p.identity for p in rec.phones if p.e164}:
            counts[identity] = counts.get(identity, 0) + 1
    return counts


def ensure_keys(store: Store) -> int:
    """Bring the match keys up to date (first run after an upgrade, bulk loads); returns how
    many customers were keyed."""
    stale = match_keys_db.stale_ids(store)
    if not stale and store.meta("match_keys_version") == match_keys_db.KEYS_VERSION:
        return 0
    with store.write():
        match_keys_db.refresh(store, stale)
        match_keys_db.mark_current(store)
    return len(stale)


def _vault_if_any(store: Store) -> Vault | None:
    """The key when this database has one and it can be loaded; None otherwise (matching then
    works on the keyed hashes alone: no mobile/landline distinction, no near-phones)."""
    if not store.has_key():
        return None
    try:
        return store.vault()
    except CrmError:
        return None


# -- the whole list -----------------------------------------------------------------------


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a run makes millions of small acyclic objects, and
    the collector's full passes over them cost 15-20% of a 100k run for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def find_groups(
    store: Store,
    *,
    min_score: float | None = None,
    max_block: int = DEFAULT_MAX_BLOCK,
    tick: Callable[[int], None] | None = None,
) -> DedupeReport:
    """Every group of probable duplicates, most certain first."""
    with _no_gc():
        return _find_groups(store, min_score, max_block, tick)


def _find_groups(
    store: Store,
    min_score: float | None,
    max_block: int,
    tick: Callable[[int], None] | None,
) -> DedupeReport:
    started = time.perf_counter()
    ensure_keys(store)
    threshold = ms.POSSIBLE if min_score is None else min_score
    freq: dict[str, int] = {}
    skipped: list[SkippedBlock] = []
    pairs: set[tuple[int, int]] = set()
    with store.read():
        for key, size, ids in match_keys_db.blocks(store):
            freq[key] = size
            # Names are shared far more often than phones or e-mails, and a name alone makes
            # few duplicates: name blocks get a quarter of the limit (pairs grow as its square).
            limit = max_block if key[0] in "te" else max(2, max_block // NAME_BLOCK_SHARE)
            if size > limit:
                skipped.append(SkippedBlock(describe_key(key), size))
                continue
            ids.sort()
            pairs.update(itertools.combinations(ids, 2))
        refused = set(merges_db.not_duplicate_pairs(store))
        pairs -= refused
        total = customers_db.count_live(store)
    vault = _vault_if_any(store)
    records = load_records(store, {i for p in pairs for i in p}, vault)

    phone_holders = _phone_counts(records.values())

    def frequency(key: str) -> int:
        if key.startswith("x:"):
            return phone_holders.get(key, 1)
        return freq.get(key, 1)

    def score(a: int, b: int) -> ms.PairScore:
        if (a, b) in refused:
            return _NOT_DUPLICATES
        return ms.score_pair(records[a], records[b], frequency)

    scored: list[ms.PairScore] = []
    for n, (a, b) in enumerate(pairs, 1):
        ra, rb = records[a], records[b]
        if ms.may_reach(ra, rb, threshold, frequency):
            p = ms.score_pair(ra, rb, frequency)
            if p.score >= threshold:
                scored.append(p)
        if tick is not None and n % 5000 == 0:
            tick(5000)
    clusters = mc.cluster(scored, score, threshold=threshold)
    groups = _groups(store, [c for c in clusters if c.score >= threshold])
    skipped.sort(key=lambda b: -b.size)
    return DedupeReport(groups, total, len(pairs), skipped, time.perf_counter() - started)


def _groups(store: Store, clusters: list[mc.Cluster]) -> list[DuplicateGroup]:
    from crmcli.operations.merging import most_complete

    ids = [m for c in clusters for m in c.members]
    by_id = {r["id"]: r for r in customers_db.records(store, ids)}
    counts: dict[int, int] = {}
    for start in range(0, len(ids), 10_000):  # one statement holds at most 32,766 values
        counts.update(merges_db.interaction_counts(store, ids[start : start + 10_000]))
    out = []
    for number, c in enumerate(clusters, 1):
        members = [{k: by_id[m].get(k) for k in MEMBER_FIELDS} for m in c.members]
        pairs = [
            {"a": p.a, "b": p.b, "score": p.score, "band": p.band, "reasons": p.reasons}
            for p in sorted(c.pairs.values(), key=lambda q: (-q.score, q.a, q.b))
        ]
        out.append(
            DuplicateGroup(
                number=number,
                band=c.band,
                score=c.score,
                weakest=(c.weakest.a, c.weakest.b),
                survivor=most_complete([by_id[m] for m in c.members], counts),
                members=members,
                pairs=pairs,
            )
        )
    return out


def member_rows(report: DedupeReport) -> list[dict[str, Any]]:
    """One flat row per member (the machine formats): group facts, the record, its best match."""
    rows = []
    for g in report.groups:
        for m in g.members:
            best = max(
                (p for p in g.pairs if m["id"] in (p["a"], p["b"])),
                key=lambda p: p["score"],
            )
            other = best["b"] if best["a"] == m["id"] else best["a"]
            rows.append(
                {
                    "group": g.number,
                    "band": g.band,
                    "group_score": g.score,
                    "weakest_link": f"{g.weakest[0]}-{g.weakest[1]}",
                    "survivor": m["id"] == g.survivor,
                    **m,
                    "matches": other,
                    "score": best["score"],
                    "reasons": best["reasons"],
                }
            )
    return rows


# -- one new record -----------------------------------------------------------------------


def phone_facts(tail8_hash: str, phone: Phone) -> ms.PhoneFacts:
    """A phone as the matcher sees it: the store's keyed hash of its last 8 digits, its E.164
    form and digits (for the mobile/landline kind and near-phone evidence)."""
    return ms.PhoneFacts("t:" + tail8_hash, phone.e164, _digits(phone.e164 or phone.raw))


def draft_record(draft: CustomerDraft, vault: Vault | None, record_id: int = 0) -> ms.MatchRecord:
    """A draft as a match record; contact tokens are the store's keyed hashes."""
    phones: list[ms.PhoneFacts] = []
    emails: list[str] = []
    if vault is not None:
        phones = [phone_facts(vault.blind("tail8", p.tail8), p) for p in draft.phones]
        emails = ["e:" + vault.blind("email", e) for e in draft.emails]
    return ms.match_record(
        record_id,
        kind=draft.kind,
        name=draft.name or "",
        company=draft.company,
        gender=draft.gender,
        phones=phones,
        emails=emails,
    )


def likely_duplicates_of(
    store: Store,
    draft: CustomerDraft,
    *,
    exclude: int | None = None,
    max_block: int = DEFAULT_MAX_BLOCK,
) -> list[tuple[int, float, str, list[str]]]:
    """Existing customers the draft probably duplicates: (customer_id, score, band, reasons),
    best first; only "likely" and "possible" ones. Reads only (safe inside a write)."""
    vault = _vault_if_any(store)
    rec = draft_record(draft, vault, record_id=0)
    if not rec.keys:
        return []
    counts = match_keys_db.counts(store, rec.keys)
    usable = [k for k in rec.keys if 0 < counts.get(k, 0) < max_block]
    holders = match_keys_db.holders(store, usable)
    holders.pop(exclude or -1, None)
    if not holders:
        return []
    refused: set[int] = set()
    if exclude:
        pairs = merges_db.not_duplicate_pairs(store)
        refused = {a if b == exclude else b for a, b in pairs if exclude in (a, b)}
    return score_against(rec, load_records(store, holders, vault), counts, skip=refused)


def score_against(
    rec: ms.MatchRecord,
    others: Mapping[int, ms.MatchRecord],
    counts: Mapping[str, int],
    *,
    skip: Container[int] = (),
) -> list[tuple[int, float, str, list[str]]]:
    """Score one new record against candidates: (customer_id, score, band, reasons), best
    first, "likely" and "possible" only. `counts`: how many stored records hold each of the
    new record's keys (the new record about to be one more); `skip`: candidates not to score
    (marked not duplicates), still counted as holders of a phone."""
    phone_holders = _phone_counts([rec, *others.values()])

    def frequency(key: str) -> int:
        if key.startswith("x:"):
            return phone_holders.get(key, 1)
        # The new record will hold the key too once it is saved.
        return counts.get(key, 0) + (1 if key in rec.keys else 0) or 1

    out = []
    for customer_id, other in others.items():
        if customer_id in skip:
            continue
        p = ms.score_pair(rec, other, frequency)
        if p.band is not None:
            out.append((customer_id, p.score, p.band, p.reasons))
    out.sort(key=lambda t: (-t[1], t[0]))
    return out
