"""Finding duplicate customers: candidates from the stored match keys, scored, grouped.

Never all pairs: two customers are compared only when they share a blocking key (a phone, an
e-mail, a name or its pinyin, a nickname, surname + company; see `crmcli.matching_score`).
A key held by more than `max_block` customers (a very common name, an office switchboard) is
not expanded into pairs: it is reported, and its pairs are compared only when another key
brings them together. Phones are decrypted in bulk, only for the records of candidate pairs,
to tell mobiles from landlines and to see a mistyped digit.

Which pairs are worth scoring is `operations.dedupe_candidates`; this module loads the
records, scores and clusters the pairs, and builds the groups. `likely_duplicates_of` answers
the same question for one new record (`add`); `score_against` is its scoring, shared with
`import` (`operations.import_duplicates`), which batches the look-ups.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crmcli import collector
from crmcli import matching_cluster as mc
from crmcli import matching_score as ms
from crmcli.errors import CrmError
from crmcli.operations import dedupe_candidates as dc
from crmcli.operations.dedupe_candidates import SkippedBlock, block_limit
from crmcli.store import contacts as contacts_db
from crmcli.store import customers as customers_db
from crmcli.store import match_keys as match_keys_db
from crmcli.store import merges as merges_db

if TYPE_CHECKING:
    from crmcli.credentials import Vault
    from crmcli.models import CustomerDraft
    from crmcli.phone_numbers import Phone
    from crmcli.store import Store

DEFAULT_MAX_BLOCK = 100
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

    @property
    def group_count(self) -> int:
        return len(self.groups)

    @property
    def likely(self) -> int:
        return sum(1 for g in self.groups if g.band == "likely")


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
            raw, e164, _ = contacts_db.phone_fields(text)
            digits = _digits(e164 or raw or "")
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
#
# Memory is what limits a big run (1M customers: ~2M candidate pairs among ~770k customers), so
# no pass holds a full `MatchRecord` for every candidate at once:
#
# 1. `dc.candidates`: the blocks give the candidate pairs (one int each) and the frequency of
#    every key held by more than `ms.SHARED_FREE` customers (below that, evidence counts in full
#    and its label names no count, so the exact number does not matter).
# 2. `dc.sketch_all`: every candidate's record is built as before (phones decrypted), a chunk at
#    a time, and boiled down to what `ms.may_reach` reads of it (`dc.Sketches`: a few bytes in
#    arrays); the records and the rows they came from are dropped with the chunk. The exact
#    counts of shared phones are taken on the way.
# 3. `dc.survivors`: pairs sharing a phone or an e-mail, and the pairs whose sketches pass the
#    same bound as `ms.may_reach` (looser only where the sketch keeps a hash instead of a
#    string, or a near-phone key instead of the digits: never stricter).
# 4. `_cluster_survivors`: the survivors' connected components, in batches, each batch's
#    records built again, scored (`ms.may_reach` then `ms.score_pair`) and clustered, then
#    dropped. Clusters grow only along scored pairs, which stay inside a component, so the
#    groups are those of one pass over everything (`matching_cluster.cluster`).
# 5. `iter_groups`: the groups' rows read and built a slice of groups at a time, so that
#    `dedupe`'s listing writes them as they come.

_SKETCH_CHUNK = 10_000  # records built at once while sketching
_SMALL_RUN = 20_000  # up to this many candidates, records are built once and kept
_BATCH = 20_000  # records held at once while scoring and clustering (whole components)
_GROUP_CHUNK = 2_000  # groups whose rows are read at once


@dataclass
class FoundClusters:
    """What `find_clusters` finds: the groups as clusters of ids, most certain first; their
    rows come from `iter_groups`."""

    clusters: list[mc.Cluster]
    customers: int
    candidate_pairs: int
    skipped: list[SkippedBlock] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def group_count(self) -> int:
        return len(self.clusters)

    @property
    def likely(self) -> int:
        return sum(1 for c in self.clusters if c.band == "likely")


def find_groups(
    store: Store,
    *,
    min_score: float | None = None,
    max_block: int = DEFAULT_MAX_BLOCK,
    tick: Callable[[int], None] | None = None,
) -> DedupeReport:
    """Every group of probable duplicates, most certain first."""
    found = find_clusters(store, min_score=min_score, max_block=max_block, tick=tick)
    with collector.paused():  # its passes cost 15-20% of a 100k run
        groups = list(iter_groups(store, found.clusters))
    return DedupeReport(
        groups, found.customers, found.candidate_pairs, found.skipped, found.seconds
    )


def find_clusters(
    store: Store,
    *,
    min_score: float | None = None,
    max_block: int = DEFAULT_MAX_BLOCK,
    tick: Callable[[int], None] | None = None,
) -> FoundClusters:
    """Every group of probable duplicates as a cluster of ids, most certain first."""
    with collector.paused():  # its passes cost 15-20% of a 100k run
        return _find_clusters(store, min_score, max_block, tick)


def _find_clusters(
    store: Store,
    min_score: float | None,
    max_block: int,
    tick: Callable[[int], None] | None,
) -> FoundClusters:
    started = time.perf_counter()
    ensure_keys(store)
    threshold = ms.POSSIBLE if min_score is None else min_score
    with store.read():
        cand = dc.candidates(store, max_block)
        total = customers_db.count_live(store)
    vault = _vault_if_any(store)
    sketches = _sketch_all(store, cand, vault)
    phone_holders = sketches.phone_holders

    def frequency(key: str) -> int:
        if key.startswith("x:"):
            return phone_holders.get(key, 1)
        return cand.freq.get(key, 1)

    survivors = dc.survivors(cand, sketches, threshold, tick)
    loaded = sketches.records
    del sketches
    cand.contact.clear()  # counted; the survivors are all that is scored
    cand.other.clear()
    clusters = _cluster_survivors(store, vault, cand, survivors, frequency, threshold, loaded)
    cand.skipped.sort(key=lambda b: -b.size)
    return FoundClusters(clusters, total, cand.pairs, cand.skipped, time.perf_counter() - started)


def _sketch_all(store: Store, cand: dc.Candidates, vault: Vault | None) -> dc.Sketches:
    """`dc.sketch_all` over this store's records (phones decrypted when a vault is given)."""
    return dc.sketch_all(
        cand,
        lambda ids: load_records(store, ids, vault),
        chunk=_SKETCH_CHUNK,
        keep_up_to=_SMALL_RUN,
    )


def _cluster_survivors(
    store: Store,
    vault: Vault | None,
    cand: dc.Candidates,
    survivors: list[int],
    frequency: ms.Frequency,
    threshold: float,
    loaded: dict[int, ms.MatchRecord] | None,
) -> list[mc.Cluster]:
    shift, mask = cand.shift, cand.mask
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while (up := parent[root]) != root:
            root = up
        while (up := parent[x]) != root:  # path compression
            parent[x], x = root, up
        return root

    for code in survivors:
        a, b = code >> shift, code & mask
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
    sizes: dict[int, int] = {}
    for x in parent:
        root = find(x)
        sizes[root] = sizes.get(root, 0) + 1
    # Whole components into batches of about _BATCH records.
    batch_of: dict[int, int] = {}
    batches, filled = 0, 0
    for root in sorted(sizes):
        if filled and filled + sizes[root] > _BATCH:
            batches, filled = batches + 1, 0
        batch_of[root] = batches
        filled += sizes[root]
    del sizes
    pairs_of: list[list[int]] = [[] for _ in range(batches + 1 if parent else 0)]
    for code in survivors:
        pairs_of[batch_of[find(code >> shift)]].append(code)
    parent.clear()
    batch_of.clear()
    survivors.clear()

    out: list[mc.Cluster] = []
    for codes in pairs_of:
        out += _cluster_batch(store, vault, cand, codes, frequency, threshold, loaded)
        codes.clear()
    out.sort(key=mc.order_key)
    return out


def _cluster_batch(
    store: Store,
    vault: Vault | None,
    cand: dc.Candidates,
    codes: list[int],
    frequency: ms.Frequency,
    threshold: float,
    loaded: dict[int, ms.MatchRecord] | None,
) -> list[mc.Cluster]:
    """Score and cluster the pairs of whole components, their records built for the while
    (unless `loaded` has them all)."""
    shift, mask, refused = cand.shift, cand.mask, cand.refused
    records = loaded
    if records is None:
        records = load_records(
            store, {code >> shift for code in codes} | {code & mask for code in codes}, vault
        )

    def score(a: int, b: int) -> ms.PairScore:
        if (a, b) in refused:
            return _NOT_DUPLICATES
        return ms.score_pair(records[a], records[b], frequency)

    scored: list[ms.PairScore] = []
    for code in codes:
        ra, rb = records[code >> shift], records[code & mask]
        if ms.may_reach(ra, rb, threshold, frequency):
            p = ms.score_pair(ra, rb, frequency)
            if p.score >= threshold:
                scored.append(p)
    return [c for c in mc.cluster(scored, score, threshold=threshold) if c.score >= threshold]


def iter_groups(store: Store, clusters: Sequence[mc.Cluster]) -> Iterator[DuplicateGroup]:
    """The groups of these clusters, numbered from 1, their members' rows read a slice at a
    time (a 1M-customer run finds ~100k groups)."""
    from crmcli.operations.merging import most_complete

    chunk = _GROUP_CHUNK
    for start in range(0, len(clusters), chunk):
        part = clusters[start : start + chunk]
        ids = [m for c in part for m in c.members]
        by_id = {r["id"]: r for r in customers_db.records(store, ids)}
        counts = merges_db.interaction_counts(store, ids) if ids else {}
        for number, c in enumerate(part, start + 1):
            members = [{k: by_id[m].get(k) for k in MEMBER_FIELDS} for m in c.members]
            pairs = [
                {"a": p.a, "b": p.b, "score": p.score, "band": p.band, "reasons": p.reasons}
                for p in sorted(c.pairs.values(), key=lambda q: (-q.score, q.a, q.b))
            ]
            yield DuplicateGroup(
                number=number,
                band=c.band,
                score=c.score,
                weakest=(c.weakest.a, c.weakest.b),
                survivor=most_complete([by_id[m] for m in c.members], counts),
                members=members,
                pairs=pairs,
            )


def member_rows(report: DedupeReport) -> list[dict[str, Any]]:
    """One flat row per member (the machine formats): group facts, the record, its best match."""
    return list(iter_member_rows(report.groups))


def iter_member_rows(groups: Iterable[DuplicateGroup]) -> Iterator[dict[str, Any]]:
    """`member_rows` as the groups come."""
    for g in groups:
        for m in g.members:
            best = max(
                (p for p in g.pairs if m["id"] in (p["a"], p["b"])),
                key=lambda p: p["score"],
            )
            other = best["b"] if best["a"] == m["id"] else best["a"]
            yield {
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
    usable = [k for k in rec.keys if 0 < counts.get(k, 0) < block_limit(k, max_block)]
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
        # may_reach is an exact upper bound (a property test holds it to score_pair): most
        # candidates are namesakes with nothing else in common and stop here, unscored.
        if customer_id in skip or not ms.may_reach(rec, other, ms.POSSIBLE, frequency):
            continue
        p = ms.score_pair(rec, other, frequency)
        if p.band is not None:
            out.append((customer_id, p.score, p.band, p.reasons))
    out.sort(key=lambda t: (-t[1], t[0]))
    return out
