"""Which pairs of customers are worth scoring, without scoring them (`dedupe`'s first half).

1. `candidates`: every blocking key's customers (`match_keys`), expanded into pairs (ints,
   `a << shift | b`) unless the key is too crowded (`block_limit`; reported, never silently
   dropped); pairs sharing a phone or e-mail key are kept apart from the others.
2. `sketch_all`: every candidate's record boiled down to what `ms.may_reach` reads of it, in
   arrays of a few bytes a customer, so that a million candidates fit in memory.
3. `survivors`: the pairs that `ms.may_reach` could keep, by the same bound on the sketches
   (looser only where a sketch keeps a hash instead of a string, or a near-phone key instead
   of the digits: never stricter; `tests/test_dedupe_batches.py` holds it to that).
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crmcli import matching_score as ms
from crmcli.store import match_keys as match_keys_db
from crmcli.store import merges as merges_db

if TYPE_CHECKING:
    from crmcli.store import Store

NAME_BLOCK_SHARE = 4  # name-derived keys are expanded up to max_block // 4 customers


@dataclass
class SkippedBlock:
    """A key shared by too many customers to compare them all (said, never silently dropped)."""

    what: str
    size: int


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


@dataclass
class Candidates:
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


def candidates(store: Store, max_block: int) -> Candidates:
    shift = max(1, match_keys_db.max_customer_id(store).bit_length())
    cand = Candidates(shift, set(), set(), {}, {}, set(), [])
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
class Sketches:
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


def sketch_all(
    cand: Candidates,
    load: Callable[[list[int]], dict[int, ms.MatchRecord]],
    *,
    chunk: int,
    keep_up_to: int,
) -> Sketches:
    """Every candidate's record, built by `load` `chunk` ids at a time, boiled down to what
    `ms.may_reach` reads of it; the records are kept (`Sketches.records`) when there are at
    most `keep_up_to` of them, for scoring without building them again."""
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
    s = Sketches(
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
    kept = len(ids) <= keep_up_to
    if kept:
        chunk = keep_up_to
    for start in range(0, len(ids), chunk):
        records = load(ids[start : start + chunk])
        if kept:  # built once, kept for scoring
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


def survivors(
    cand: Candidates, s: Sketches, threshold: float, tick: Callable[[int], None] | None
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
