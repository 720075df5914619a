"""What `import` does with a row that looks like a customer it already has (`--on-duplicate`).

An import first matches by identity (importing.py): customer number, then an identical phone or
e-mail (an office landline alone identifies nobody: colleagues share it). A row that matches
nothing that way is put to the duplicate matcher `add` and `dedupe` use
(`operations.dedupe.score_against`), against the database and against the rows created earlier
in the same file: earlier chunks are in the database, their match keys written after each bulk
insert (`flushed`); the current chunk is held here in memory.

A row whose best match is *likely* becomes, by `--on-duplicate`:

- `create` (the default): a new customer, reported as a likely duplicate. A wrong "create" is
  undone by `crmcli dedupe` / `merge` (journalled, `unmerge` restores); a wrong "update" mixes two
  people's details into one record with no undo, so guessing is never the default.
- `update`: the matched customer gets its blanks filled, as on an exact match.
- `skip`: not imported; counted as skipped and listed.
- `review`: created, and written with its likely twin to a review workbook (the format of
  `dedupe --review-file`, pre-filled keep/merge) for `crmcli dedupe --apply`.

A *possible* match is never acted on, only reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli import matching_score as ms
from crmcli.operations import dedupe
from crmcli.store import customers as customers_db
from crmcli.store import match_keys as match_keys_db

if TYPE_CHECKING:
    from crmcli.credentials import Vault
    from crmcli.operations.dedupe import DuplicateGroup
    from crmcli.phone_numbers import Phone
    from crmcli.store import Store

ON_DUPLICATE = ("create", "update", "skip", "review")
DECISIONS = {"create": "created", "update": "updated", "skip": "skipped", "review": "review"}
FIRST_PAIRS = 100  # pairs kept for the summary; the review workbook gets all of them


@dataclass
class Twin:
    """The best match of a row: an existing customer (or one created earlier in the file)."""

    customer_id: int
    name: str
    score: float
    band: str  # "likely" or "possible"
    reasons: list[str]


@dataclass
class DuplicatePair:
    row: int  # the row number Excel shows
    name: str
    twin: Twin
    decision: str  # created / updated / skipped / review (a possible match: always created)
    customer_id: int | None  # the row's customer: new, the twin when updated, None when skipped

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "name": self.name,
            "id": self.customer_id,
            "band": self.twin.band,
            "score": self.twin.score,
            "matches": self.twin.customer_id,
            "matches_name": self.twin.name,
            "decision": self.decision,
            "reasons": self.twin.reasons,
        }


@dataclass
class DuplicateSummary:
    """Per customers sheet: what happened to rows that resemble a customer."""

    on_duplicate: str = "create"
    likely: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISIONS.values(), 0))
    possible: int = 0
    pairs: list[DuplicatePair] = field(default_factory=list)  # the first FIRST_PAIRS
    skipped_rows: list[int] = field(default_factory=list)
    review_pairs: list[tuple[int, int, Twin]] = field(default_factory=list)  # (new id, twin)
    review_groups: list[DuplicateGroup] = field(default_factory=list)
    review_file: str | None = None

    @property
    def total(self) -> int:
        return sum(self.likely.values()) + self.possible

    def add(self, pair: DuplicatePair) -> None:
        if pair.twin.band == "likely":
            self.likely[pair.decision] += 1
        else:
            self.possible += 1
        if pair.decision == "skipped":
            self.skipped_rows.append(pair.row)
        if pair.decision == "review" and pair.customer_id is not None:
            self.review_pairs.append((pair.customer_id, pair.twin.customer_id, pair.twin))
        if len(self.pairs) < FIRST_PAIRS:
            self.pairs.append(pair)

    def as_dict(self) -> dict[str, Any]:
        return {
            "on_duplicate": self.on_duplicate,
            "likely": sum(self.likely.values()),
            **{f"likely_{k}": n for k, n in self.likely.items()},
            "possible": self.possible,
            "skipped_rows": self.skipped_rows,
            "pairs": [p.as_dict() for p in self.pairs],
            "review_file": self.review_file,
        }


def is_landline(phone: Phone) -> bool:
    return ms.PhoneFacts("", phone.e164).kind == "landline"


def ensure_keys(store: Store) -> None:
    """Inside the import's transaction: key the customers a bulk load left without match keys
    (`dedupe.ensure_keys`, which takes its own transaction, does the same)."""
    stale = match_keys_db.stale_ids(store)
    if stale or store.meta("match_keys_version") != match_keys_db.KEYS_VERSION:
        match_keys_db.refresh(store, stale)
        match_keys_db.mark_current(store)


def row_record(
    fields: dict[str, Any], phones: list[Phone], tail8_hashes: list[str], email_hashes: list[str]
) -> ms.MatchRecord:
    """A validated row as a match record (contact tokens: the store's keyed hashes)."""
    return ms.match_record(
        0,
        kind=fields.get("kind"),
        name=fields.get("name") or "",
        company=fields.get("company"),
        gender=fields.get("gender"),
        phones=[dedupe.phone_facts(t, p) for p, t in zip(phones, tail8_hashes, strict=True)],
        emails=["e:" + e for e in email_hashes],
    )


# How many of the import's own customers' match records are kept in memory (~2.3 KB each),
# after which the database answers for them and memory starts over. A sheet of up to
# MEMORY_RECORDS_WHOLE rows is held whole (holding half of 100k, reading the first half back
# took ~9 s of the main process's 66 s, profiled); a longer one a window of MEMORY_RECORDS,
# since its worker's caches and SQLite's page cache fill up too (a 1M import's two processes
# peaked at 934 MB summed RSS with 50k, ~1.05 GB with 100k).
MEMORY_RECORDS = 50_000
MEMORY_RECORDS_WHOLE = 100_000


def memory_records(total_rows: int | None) -> int:
    """How many of its own records an import of `total_rows` rows keeps (None: not known)."""
    if total_rows is not None and total_rows <= MEMORY_RECORDS_WHOLE:
        return MEMORY_RECORDS_WHOLE
    return MEMORY_RECORDS


class TwinFinder:
    """The duplicate matcher for one import: one row at a time, against the customers the
    database held before the import and the ones the import itself created.

    The import's own customers (ids from `first_id` on) are matched from memory: the records
    built of their rows and an index of their keys, kept across chunks (up to
    `memory_records`, then the database answers for those too), so an import seldom reads back
    and decrypts what it has just written (reading them back was ~40% of a 100k import).

    The database answers for the customers before them (`below`), in batches per chunk: the
    first row that needs the matcher brings in the keys of every row of the chunk (`begin`):
    how many customers hold each key, who holds the usable ones, and their records, in a few
    set-based queries instead of five per row. An empty database is not asked at all.
    """

    def __init__(
        self,
        store: Store,
        vault: Vault | None,
        first_id: int,
        memory_records: int = MEMORY_RECORDS,
        max_block: int = dedupe.DEFAULT_MAX_BLOCK,
    ) -> None:
        self.store = store
        self.memory_records = memory_records
        self.vault = vault
        self.max_block = max_block
        self.upcoming: Callable[[], Iterable[ms.MatchRecord]] | None = None
        # The database's side: customers with ids under `below`; what it holds for the keys
        # looked up this chunk.
        self.below = first_id
        self.ask_database = match_keys_db.any_keys(store)
        self.counts: dict[str, int] = {}
        self.holders: dict[str, set[int]] = {}
        self.stored: dict[int, ms.MatchRecord] = {}
        # The import's own customers (ids from `below` on), written or not yet; `grown`: those
        # of the current chunk that a later row added to.
        self.mine: dict[int, ms.MatchRecord] = {}
        # Lists, not sets: most keys (a phone, an e-mail) have one holder, and a list of one
        # is 64 bytes against a set's 216 (~90 MB less at 100k customers).
        self.mine_keys: dict[str, list[int]] = {}
        self.grown: set[int] = set()

    def begin(self, upcoming: Callable[[], Iterable[ms.MatchRecord]]) -> None:
        """A new chunk: `upcoming()` gives its rows' records, built only if a row needs them."""
        self.upcoming = upcoming

    def _look_up(self, keys: Iterable[str]) -> None:
        new = [k for k in set(keys) if k not in self.counts]
        if not new:
            return
        if not self.ask_database:
            self.counts.update(dict.fromkeys(new, 0))
            return
        counts = match_keys_db.counts(self.store, new, below=self.below)
        for key in new:
            self.counts[key] = counts.get(key, 0)
        usable = [k for k in new if 0 < self.counts[k] < dedupe.block_limit(k, self.max_block)]
        held = match_keys_db.holders(self.store, usable, below=self.below)
        for customer_id, their_keys in held.items():
            for key in their_keys:
                self.holders.setdefault(key, set()).add(customer_id)
        missing = [i for i in held if i not in self.stored]
        if missing:
            self.stored.update(dedupe.load_records(self.store, missing, self.vault))

    def best(self, rec: ms.MatchRecord, excluded: Callable[[int], bool]) -> Twin | None:
        """The row's best likely or possible match, or None (`likely_duplicates_of`'s rules)."""
        keys = rec.keys
        if not keys:
            return None
        if self.upcoming is not None:
            upcoming, self.upcoming = self.upcoming, None
            self._look_up(k for r in upcoming() for k in r.keys)
        self._look_up(keys)
        counts = {k: self.counts[k] + len(self.mine_keys.get(k, ())) for k in keys}
        ids: set[int] = set()
        for key in keys:
            if 0 < counts[key] < dedupe.block_limit(key, self.max_block):
                ids |= self.holders.get(key, set())
                ids.update(self.mine_keys.get(key, ()))
        others = {
            i: self.mine[i] if i in self.mine else self.stored[i]
            for i in ids
            if (i in self.mine or i in self.stored) and not excluded(i)
        }
        found = dedupe.score_against(rec, others, counts)
        if not found:
            return None
        customer_id, score, band, reasons = found[0]
        return Twin(customer_id, others[customer_id].name, score, band, reasons)

    def created(self, customer_id: int, rec: ms.MatchRecord) -> None:
        """A row became a new customer: later rows are compared with it."""
        rec.id = customer_id
        self._hold(rec)

    def grew(self, customer_id: int) -> None:
        """A later row of the chunk filled a pending customer: its record no longer describes
        what will be stored (matching keeps comparing with the first row until the chunk is
        written, then reads it back: `flushed`)."""
        self.grown.add(customer_id)

    def changed(self, customer_id: int) -> None:
        """A written customer was updated (its match keys too): read it again, and let the
        keys it gained find it."""
        if customer_id in self.mine:
            self._drop(customer_id)
            for rec in dedupe.load_records(self.store, [customer_id], self.vault).values():
                self._hold(rec)
            return
        if self.stored.pop(customer_id, None) is None and not self.counts:
            return
        for cid, rec in dedupe.load_records(self.store, [customer_id], self.vault).items():
            self.stored[cid] = rec
            for key in rec.keys & self.counts.keys():
                holders = self.holders.setdefault(key, set())
                if cid not in holders:
                    holders.add(cid)
                    self.counts[key] += 1

    def flushed(self, ids: list[int]) -> None:
        """The chunk's new customers were bulk-inserted: key them (bulk inserts write no match
        keys) so later commands see them.

        A customer stored as its row was is keyed from the record matching built of that row
        (the same keys `refresh` would derive again from the stored row); one a later row
        filled is keyed by `refresh` and read back, so later rows meet what was stored.
        """
        as_built = [self.mine[i] for i in ids if i in self.mine and i not in self.grown]
        match_keys_db.write(self.store, as_built)
        read_back = [i for i in ids if i not in self.mine or i in self.grown]
        if read_back:
            match_keys_db.refresh(self.store, read_back)
        grown = [i for i in self.grown if i in self.mine]
        for customer_id in grown:
            self._drop(customer_id)
        for rec in dedupe.load_records(self.store, grown, self.vault).values():
            self._hold(rec)
        for customer_id in ids:  # indexed in `mine_keys` and written: no second copy
            if customer_id in self.mine:
                self.mine[customer_id].release_keys()
        self.upcoming = None
        for table in (self.counts, self.holders, self.stored):
            table.clear()
        self.grown.clear()
        if len(self.mine) >= self.memory_records:
            # Everything held is written and keyed: from here on the database answers for it.
            self.below = max(self.mine) + 1
            self.ask_database = True
            self.mine.clear()
            self.mine_keys.clear()

    def _hold(self, rec: ms.MatchRecord) -> None:
        self.mine[rec.id] = rec
        for key in rec.keys:
            self.mine_keys.setdefault(key, []).append(rec.id)

    def _drop(self, customer_id: int) -> None:
        rec = self.mine.pop(customer_id)
        for key in rec.keys:
            holders = self.mine_keys.get(key)
            if holders is not None and customer_id in holders:
                holders.remove(customer_id)
                if not holders:
                    del self.mine_keys[key]


# -- the review workbook --------------------------------------------------------------------


def review_groups(store: Store, summary: DuplicateSummary) -> list[DuplicateGroup]:
    """One group per existing customer: it (kept) and the rows created as its likely twins
    (merged), in the shape `dedupe --review-file` writes. Runs inside the import's transaction,
    after the last chunk is written."""
    from crmcli.operations.dedupe import MEMBER_FIELDS, DuplicateGroup

    by_twin: dict[int, list[tuple[int, Twin]]] = {}
    for new_id, twin_id, twin in summary.review_pairs:
        by_twin.setdefault(twin_id, []).append((new_id, twin))
    ids = [i for twin_id, rows in by_twin.items() for i in (twin_id, *(n for n, _ in rows))]
    records = {r["id"]: r for r in customers_db.records(store, ids)}
    groups = []
    for number, (twin_id, rows) in enumerate(by_twin.items(), 1):
        members = [twin_id, *(n for n, _ in rows)]
        pairs = [
            {"a": twin_id, "b": n, "score": t.score, "band": t.band, "reasons": t.reasons}
            for n, t in rows
        ]
        weakest = min(rows, key=lambda r: r[1].score)
        groups.append(
            DuplicateGroup(
                number=number,
                band="likely",
                score=weakest[1].score,
                weakest=(twin_id, weakest[0]),
                survivor=twin_id,  # the customer already there stays
                members=[{k: records[m].get(k) for k in MEMBER_FIELDS} for m in members],
                pairs=pairs,
            )
        )
    return groups


def default_review_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.duplicates.xlsx")


def write_review(summary: DuplicateSummary, target: Path) -> str | None:
    """Write the review workbook (after commit); returns an error message or None."""
    from crmcli.operations.dedupe import DedupeReport
    from crmcli.operations.dedupe_review import write_review_file

    report = DedupeReport(summary.review_groups, customers=0, candidate_pairs=0)
    try:
        write_review_file(target, report)
    except OSError as exc:
        return f"could not write {target}: {exc.strerror or exc}"
    summary.review_file = str(target)
    return None
