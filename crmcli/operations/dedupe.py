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
import time
from array import array
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
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
    from crmcli.phone_numbers import Phone
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

    @property
    def group_count(self) -> int:
        return len(self.groups)

    @property
    def likely(self) -> int:
        return sum(1 for g in self.groups if g.band == "likely")


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
            raw, e164, _ = customers_db.phone_fields(text)
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
# 1. `_candidates`: the blocks give the candidate pairs (one int each) and the frequency of
#    every key held by more than `ms.SHARED_FREE` customers (below that, evidence counts in full
#    and its label names no count, so the exact number does not matter).
# 2. `_sketch_all`: every candidate's record is built as before (phones decrypted), a chunk at
#    a time, and boiled down to what `ms.may_reach` reads of it (`_Sketches`: a few bytes in
#    arrays); the records and the rows they came from are dropped with the chunk. The exact
#    counts of shared phones are taken on the way.
# 3. `_survivors`: pairs sharing a phone or an e-mail, and the pairs whose sketches pass the
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
    with _no_gc():
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
    with _no_gc():
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
        cand = _candidates(store, max_block)
        total = customers_db.count_live(store)
    vault = _vault_if_any(store)
    sketches = _sketch_all(store, cand, vault)
    phone_holders = sketches.phone_holders

    def frequency(key: str) -> int:
        if key.startswith("x:"):
            return phone_holders.get(key, 1)
        return cand.freq.get(key, 1)

    survivors = _survivors(cand, sketches, threshold, tick)
    loaded = sketches.records
    del sketches
    cand.contact.clear()  # counted; the survivors are all that is scored
    cand.other.clear()
    clusters = _cluster_survivors(store, vault, cand, survivors, frequency, threshold, loaded)
    cand.skipped.sort(key=lambda b: -b.size)
    return FoundClusters(clusters, total, cand.pairs, cand.skipped, time.perf_counter() - started)


@dataclass
class _Candidates:
    shift: int  # a pair (a, b), a < b, is the int a << shift | b
    contact: set[int]  # pairs sharing a phone or e-mail key (always scored)
    other: set[int]  # the other pairs (names, nicknames, companies)
    crowded: dict[int, list[int]]  # customer -> the phone/e-mail keys too shared to expand
    freq: dict[str, int]  # keys held by more than ms.SHARED_FREE customers
    refused: set[tuple[int, int]]  # marked not duplicates
    skipped: list[SkippedBlock]
    pairs: int = 0

    @property
    def mask(self) -> int:
        return (1 << self.shift) - 1


def block_limit(key: str, max_block: int) -> int:
    """The most customers a blocking key may hold and still bring them together (`dedupe`,
    and `add` and `import` looking for a new record's twins).

    Names are shared far more often than phones or e-mails, and a name alone makes few
    duplicates: name blocks get a quarter of the limit (pairs grow as its square). In a name
    block past that, a name's evidence is at most `ms.COMMON_NAME_FLOOR` of its weight unless a
    phone or e-mail is shared too, and then their own, smaller, block brings the pair together.
    """
    return max_block if key[0] in "te" else max(2, max_block // NAME_BLOCK_SHARE)


def _candidates(store: Store, max_block: int) -> _Candidates:
    shift = max(1, match_keys_db.max_customer_id(store).bit_length())
    cand = _Candidates(shift, set(), set(), {}, {}, set(), [])
    for key, size, ids in match_keys_db.blocks(store):
        # Only counts above SHARED_FREE change a score or a reason (`ms.shared_factor`,
        # `ms.common_factor`): anything at or below it counts in full, unnamed.
        if size > ms.SHARED_FREE:
            cand.freq[key] = size
        contact = key[0] in "te"
        if size > block_limit(key, max_block):
            cand.skipped.append(SkippedBlock(describe_key(key), size))
            if contact:  # two of them sharing it still share a phone or e-mail
                number = len(cand.skipped)
                for i in ids:
                    cand.crowded.setdefault(i, []).append(number)
            continue
        ids.sort()
        (cand.contact if contact else cand.other).update(
            [a << shift | b for a, b in itertools.combinations(ids, 2)]
        )
    cand.refused = set(merges_db.not_duplicate_pairs(store))
    if cand.refused:
        codes = {a << shift | b for a, b in cand.refused}
        cand.contact -= codes
        cand.other -= codes
    cand.other -= cand.contact
    cand.pairs = len(cand.contact) + len(cand.other)
    return cand


@dataclass
class _Sketches:
    """What `ms.may_reach` reads of each candidate, in arrays indexed by `pos[customer id]`:
    kind and gender codes, the frequency of the name's block (0: no name), hashes of the
    company key and fold (0: none), near-phone keys' hashes (`near[start : start + count]`)."""

    pos: Sequence[int] | Mapping[int, int]
    kind: bytearray
    gender: bytearray
    name_freq: array[int]
    company_key: array[int]
    company_fold: array[int]
    near_start: array[int]
    near_count: array[int]
    near: array[int]
    company: int  # the kind code of companies
    phone_holders: dict[str, int]  # "x:" + E.164 -> holders, where it may exceed SHARED_FREE
    records: dict[int, ms.MatchRecord] | None = None  # kept when they fit in one chunk


def _hash(text: str | None) -> int:
    return (hash(text) or 1) if text else 0


def _sketch_all(store: Store, cand: _Candidates, vault: Vault | None) -> _Sketches:
    shift, mask = cand.shift, cand.mask
    wanted: set[int] = set()
    for pairs in (cand.contact, cand.other):
        for code in pairs:
            wanted.add(code >> shift)
            wanted.add(code & mask)
    ids = sorted(wanted)
    del wanted
    top = ids[-1] + 1 if ids else 0
    # Customer ids are dense in practice: index by the id itself unless that wastes space.
    pos: Sequence[int] | Mapping[int, int] = (
        range(top) if top <= 4 * len(ids) + 1_000_000 else {i: n for n, i in enumerate(ids)}
    )
    size = len(pos)
    kinds: dict[str, int] = {"company": 1}
    genders: dict[str, int] = {}
    s = _Sketches(
        pos=pos,
        kind=bytearray(size),
        gender=bytearray(size),
        name_freq=array("q", bytes(8 * size)),
        company_key=array("q", bytes(8 * size)),
        company_fold=array("q", bytes(8 * size)),
        near_start=array("q", bytes(8 * size)),
        near_count=array("i", bytes(4 * size)),
        near=array("q"),
        company=kinds["company"],
        phone_holders={},
    )
    freq = cand.freq
    chunk = _SMALL_RUN if len(ids) <= _SMALL_RUN else _SKETCH_CHUNK
    for start in range(0, len(ids), chunk):
        records = load_records(store, ids[start : start + chunk], vault)
        if len(ids) <= _SMALL_RUN:  # built once, kept for scoring
            s.records = records
        for i, rec in records.items():
            p = pos[i]
            s.kind[p] = kinds.setdefault(rec.kind, len(kinds) + 1)
            if rec.gender:
                s.gender[p] = genders.setdefault(rec.gender, len(genders) + 1)
            if rec.name_key:
                s.name_freq[p] = freq.get(rec.name_block, 1)
            s.company_key[p] = _hash(rec.company_key)
            s.company_fold[p] = _hash(rec.company_fold)
            if rec.near_keys:
                s.near_start[p] = len(s.near)
                s.near_count[p] = len(rec.near_keys)
                s.near.extend(hash(k) for k in rec.near_keys)
            # `_phone_counts` over every candidate, for the phones whose last 8 digits more
            # than SHARED_FREE customers share: the holders of one E.164 all hold its last-8
            # key (E.164 = country code + the digits it is taken from), so no other count
            # can exceed SHARED_FREE.
            for identity in {ph.identity for ph in rec.phones if ph.e164 and ph.token in freq}:
                s.phone_holders[identity] = s.phone_holders.get(identity, 0) + 1
        del records
    return s


def _survivors(
    cand: _Candidates, s: _Sketches, threshold: float, tick: Callable[[int], None] | None
) -> list[int]:
    """The candidate pairs `ms.may_reach` could keep: every pair sharing a phone or e-mail
    key (two phones with one E.164 share their last-8 key), and the others whose sketches
    reach `threshold` by the same bound."""
    out = list(cand.contact)
    shift, mask, pos, crowded = cand.shift, cand.mask, s.pos, cand.crowded
    kind, gender, name_freq, company = s.kind, s.gender, s.name_freq, s.company
    company_key, company_fold = s.company_key, s.company_fold
    near, near_start, near_count = s.near, s.near_start, s.near_count
    limit = threshold - 0.05  # as in may_reach: the total is rounded to 0.1
    name_bound = ms._name_bound
    for n, code in enumerate(cand.other, 1):
        if tick is not None and n % 5000 == 0:
            tick(5000)
        a, b = code >> shift, code & mask
        if crowded and a in crowded and b in crowded and not set(crowded[a]).isdisjoint(crowded[b]):
            out.append(code)
            continue
        pa, pb = pos[a], pos[b]
        # The bound of `ms.may_reach`, step by step in the same order (the same float).
        if kind[pa] != kind[pb]:
            bound = ms.W_KIND_DIFFERS
        else:
            bound = 0.0
            fa, fb = name_freq[pa], name_freq[pb]
            if fa and fb:
                bound = name_bound(max(fa, fb))
            if kind[pa] != company:
                ka, kb = company_key[pa], company_key[pb]
                if ka and kb:
                    if ka == kb:
                        bound += ms.W_COMPANY_KEY
                    elif company_fold[pa] and company_fold[pa] == company_fold[pb]:
                        bound += ms.W_COMPANY_CORE
                ga, gb = gender[pa], gender[pb]
                if ga and gb and ga != gb:
                    bound += ms.W_GENDER_DIFFERS
        if bound >= limit:
            out.append(code)
        elif bound + ms.W_NEAR_PHONE >= limit and near_count[pa] and near_count[pb]:
            # may_reach compares the digits; sharing a near key is necessary for that.
            sa, sb = near_start[pa], near_start[pb]
            mine = near[sa : sa + near_count[pa]]
            if any(k in mine for k in near[sb : sb + near_count[pb]]):
                out.append(code)
    return out


def _cluster_survivors(
    store: Store,
    vault: Vault | None,
    cand: _Candidates,
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
    cand: _Candidates,
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
