"""Importing a spreadsheet (`crmcli import FILE`): plan, validate, match, write in one transaction.

`plan(path, …)` opens the file and decides what to import before the database is touched: which
sheet holds customers and which holds interactions (a workbook with both imports both, customers
first), where each header row is, how its columns map to fields. Bad files fail here.

`run(store, plan, options)` then reads the rows in chunks, validates each one
(`import_rows`), matches it to an existing customer (customer number first, then an identical
phone or email) and creates, fills or leaves it; a row that matches nothing exactly but looks
like a customer to the duplicate matcher is handled as `--on-duplicate` says
(`import_duplicates`); rejected rows are collected with their row number, column and reason.
Everything happens in one write transaction: an import killed halfway leaves nothing behind,
`--strict` aborts at the first bad row, and `--dry-run` runs the very same import and rolls it
back, so its counts are exact. The rejects workbook (and the review workbook of
`--on-duplicate review`) is written after commit.

New customers go to the database a chunk at a time through `store.bulk` (the same rows, hashes
and index as `crmcli add`); updates to existing customers take the one-at-a-time path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import InvalidInput, UsageError
from crmcli.operations import import_duplicates as dups
from crmcli.operations.import_rows import (
    CustomerRow,
    CustomerRows,
    InteractionRow,
    InteractionRows,
    Rejected,
)
from crmcli.store import bulk, journal, now_utc
from crmcli.store import customers as customers_db
from crmcli.store import interactions as interactions_db

if TYPE_CHECKING:
    from crmcli.credentials import Vault
    from crmcli.sheets import HeaderMap, Sheet
    from crmcli.store import Store

CHUNK_ROWS = 1000
FIRST_PROBLEMS = 10

# Columns a crmcli export adds that are not fields: the id in the exporting database (used to
# tie the Interactions sheet to its customers), and derived or managed timestamps. Import ignores
# them (quietly), as it ignores the "error" column of a rejects workbook.
SOURCE_ID_HEADERS = ("crmcli ID", "系统ID")
EXPORT_ONLY_HEADERS = (
    "Archived at",
    "Created (UTC)",
    "Updated (UTC)",
    "归档时间",
    "录入时间（UTC）",
    "更新时间（UTC）",
    "error",
)


@dataclass
class Problem:
    sheet: str | None
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass
class SheetResult:
    """What happened to one sheet; `rejects` holds the raw rows for the rejects workbook."""

    sheet: str | None
    kind: str  # "customers" or "interactions"
    header_row: int
    headers: list[str]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: int = 0
    dropped_columns: list[str] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)
    kept_columns: list[str] = field(default_factory=list)
    masked_skipped: int = 0
    duplicates: dups.DuplicateSummary = field(default_factory=dups.DuplicateSummary)
    problems: list[Problem] = field(default_factory=list)
    rejects: list[tuple[int, list[object], str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "rejected": self.rejected,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "kind": self.kind,
            "header_row": self.header_row,
            **self.counts(),
            "dropped_columns": self.dropped_columns,
            "unmapped_columns": self.unmapped_columns,
            "kept_columns": self.kept_columns,
            "masked_values_skipped": self.masked_skipped,
            "possible_duplicates": self.duplicates.total,
            "problems": [
                {"row": p.row, "column": p.column, "reason": p.reason} for p in self.problems
            ],
            **({"duplicates": self.duplicates.as_dict()} if self.kind == "customers" else {}),
        }


@dataclass
class ImportReport:
    file: str
    dry_run: bool
    sheets: list[SheetResult]
    rejects_file: str | None = None
    rejects_error: str | None = None
    review_error: str | None = None
    backup: str | None = None
    unused_overrides: list[str] = field(default_factory=list)

    def total(self, name: str, kind: str | None = None) -> int:
        return sum(getattr(s, name) for s in self.sheets if kind is None or s.kind == kind)

    @property
    def imported_anything(self) -> bool:
        return any(s.created or s.updated or s.unchanged for s in self.sheets)

    def as_dict(self) -> dict[str, Any]:
        customers = [s for s in self.sheets if s.kind == "customers"]
        names = ("created", "updated", "unchanged", "skipped", "rejected")
        return {
            "file": self.file,
            "dry_run": self.dry_run,
            **{n: sum(getattr(s, n) for s in customers) for n in names},
            "interactions": {
                n: self.total(n, "interactions")
                for n in ("created", "unchanged", "skipped", "rejected")
            },
            "duplicates": next(
                (s.duplicates.as_dict() for s in customers), dups.DuplicateSummary().as_dict()
            ),
            "sheets": [s.as_dict() for s in self.sheets],
            "rejects_file": self.rejects_file,
            "backup": self.backup,
        }


@dataclass
class ImportOptions:
    overrides: dict[str, str] = field(default_factory=dict)
    keep_extra: bool = False
    overwrite: bool = False
    strict: bool = False
    dry_run: bool = False
    rejects: Path | None = None  # default: beside the input
    on_duplicate: str = "create"  # a row likely duplicating a customer: see import_duplicates
    review_file: Path | None = None  # --on-duplicate review; default: beside the input


@dataclass
class _PlannedSheet:
    sheet: Sheet
    kind: str
    header_map: HeaderMap
    source_id_column: int | None
    external_id_column: int | None  # interactions: a customer-number column besides "customer"


@dataclass
class ImportPlan:
    path: Path
    sheets: list[_PlannedSheet]
    unused_overrides: list[str]

    @property
    def total_rows(self) -> int | None:
        totals = [p.sheet.total_rows for p in self.sheets]
        return None if any(t is None for t in totals) else sum(t or 0 for t in totals)


# ---------------------------------------------------------------------------------------------
# Planning: which sheets, which columns


def _open_sheet(path: Path, name: str | None) -> tuple[Sheet, str]:
    """One sheet, read as customers unless its header says it holds interactions."""
    from crmcli.sheets import looks_like_interactions, read_sheet

    try:
        sheet = read_sheet(path, name, kind="customers")
    except InvalidInput as exc:
        try:
            return read_sheet(path, name, kind="interactions"), "interactions"
        except InvalidInput:
            raise exc from None
    if looks_like_interactions(sheet.headers):
        return read_sheet(path, name, kind="interactions"), "interactions"
    return sheet, "customers"


def _fields_of(kind: str) -> tuple[str, ...]:
    from crmcli.sheets import FIELDS, INTERACTION_FIELDS

    return FIELDS if kind == "customers" else INTERACTION_FIELDS


def _map(sheet: Sheet, kind: str, overrides: dict[str, str]) -> _PlannedSheet:
    from crmcli.sheet_headers import IGNORE
    from crmcli.sheets import map_headers, normalize_header

    wanted = {
        column: target
        for column, target in overrides.items()
        if target == IGNORE or target in _fields_of(kind)
    }
    given = {normalize_header(c) for c in wanted}
    source_id_column = None
    source_keys = {normalize_header(h) for h in SOURCE_ID_HEADERS}
    quiet = {normalize_header(h) for h in EXPORT_ONLY_HEADERS} | source_keys
    for index, header in enumerate(sheet.headers):
        key = normalize_header(header) if header else ""
        if key in quiet and key not in given:
            wanted[header] = IGNORE
            if key in source_keys and source_id_column is None:
                source_id_column = index
    header_map = map_headers(sheet.headers, wanted, kind=kind)
    external_id_column = None
    if kind == "interactions":
        # A customer-number column beside the customer name (an export has both) also
        # identifies the customer: find it with the customers synonyms.
        as_customers = map_headers(sheet.headers)
        for index, name in as_customers.fields.items():
            if name == "external_id" and header_map.fields.get(index) != "customer":
                external_id_column = index
    return _PlannedSheet(sheet, kind, header_map, source_id_column, external_id_column)


def plan(
    path: Path, *, sheet: str | None = None, overrides: dict[str, str] | None = None
) -> ImportPlan:
    """Open the file and decide what to import; raises InputFileError / InvalidInput."""
    from crmcli.sheet_headers import IGNORE
    from crmcli.sheets import FIELDS, INTERACTION_FIELDS, normalize_header, sheet_names

    overrides = dict(overrides or {})
    for column, target in overrides.items():
        if target != IGNORE and target not in FIELDS and target not in INTERACTION_FIELDS:
            raise UsageError(
                f"--map {column}={target}: unknown field {target!r}; use one of:"
                f" {', '.join(FIELDS)}, {IGNORE} (or for interactions:"
                f" {', '.join(INTERACTION_FIELDS)})"
            )
    path = Path(path)
    opened: list[tuple[Sheet, str]] = []
    names = sheet_names(path)
    if sheet is not None or not names:
        opened.append(_open_sheet(path, sheet))
    else:
        first_error: InvalidInput | None = None
        kinds: set[str] = set()
        for name in names:
            try:
                found, kind = _open_sheet(path, name)
            except InvalidInput as exc:
                first_error = first_error or exc
                continue
            if kind not in kinds:
                kinds.add(kind)
                opened.append((found, kind))
            if len(kinds) == 2:
                break
        if not opened:
            assert first_error is not None
            raise first_error
        opened.sort(key=lambda item: item[1] != "customers")  # customers first
    planned = [_map(s, kind, overrides) for s, kind in opened]
    seen = {normalize_header(h) for p in planned for h in p.sheet.headers if h}
    unused = [c for c in overrides if normalize_header(c) not in seen]
    return ImportPlan(path, planned, unused)


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class _Contacts:
    """Keyed hashes of a row's contact details: (E.164 or None, last 8) per phone; emails."""

    phones: list[tuple[str | None, str]] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)


@dataclass
class _Lookups:
    """What the database holds for one chunk's keys (fetched in a few set-based queries)."""

    owners: dict[str, int]
    e164: dict[str, set[int]] = field(default_factory=dict)
    tail8: dict[str, set[tuple[int, bool]]] = field(default_factory=dict)
    emails: dict[str, set[int]] = field(default_factory=dict)
    known: dict[int, tuple[str | None, str]] = field(default_factory=dict)


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def run(
    store: Store,
    import_plan: ImportPlan,
    options: ImportOptions,
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import the planned sheets in one transaction; see the module docstring."""
    advance = progress or (lambda n: None)
    report = ImportReport(
        file=str(import_plan.path),
        dry_run=options.dry_run,
        sheets=[],
        unused_overrides=import_plan.unused_overrides,
    )
    needs_contacts = any(
        p.kind == "customers" and {"phones", "emails"} & set(p.header_map.fields.values())
        for p in import_plan.sheets
    )
    vault = _vault(store, options.dry_run) if needs_contacts else None
    if not options.dry_run and customers_db.count_live(store) > 0:
        report.backup = _backup(store)
    if options.on_duplicate not in dups.ON_DUPLICATE:
        raise UsageError(
            f"--on-duplicate {options.on_duplicate}: use one of {', '.join(dups.ON_DUPLICATE)}"
        )
    id_map: dict[str, int] = {}  # crmcli id in an exported workbook -> id here
    rejected_ids: set[str] = set()  # customer numbers of rejected customer rows
    # Customer numbers of rows folded into another customer (id) or skipped (why), for the
    # interactions sheet.
    numbers: dict[str, int | str] = {}
    try:
        with store.write():
            if any(p.kind == "customers" for p in import_plan.sheets):
                dups.ensure_keys(store)
            for planned in import_plan.sheets:
                result = SheetResult(
                    sheet=planned.sheet.sheet_name,
                    kind=planned.kind,
                    header_row=planned.sheet.header_row,
                    headers=list(planned.sheet.headers),
                    dropped_columns=[h for _, h in planned.header_map.refused],
                    unmapped_columns=[h for _, h in planned.header_map.unmapped],
                )
                report.sheets.append(result)
                if planned.kind == "customers":
                    result.duplicates.on_duplicate = options.on_duplicate
                    _CustomerImport(
                        store, vault, planned, options, result, id_map, rejected_ids, numbers
                    ).run(advance)
                else:
                    follow_ups_given = any(
                        "next_follow_up_on" in p.header_map.fields.values()
                        for p in import_plan.sheets
                        if p.kind == "customers"
                    )
                    _InteractionImport(
                        store,
                        planned,
                        options,
                        result,
                        id_map,
                        rejected_ids,
                        numbers,
                        follow_ups_given,
                    ).run(advance)
            for result in report.sheets:  # a missing name is found after the row was read
                result.problems.sort(key=lambda p: p.row)
                result.rejects.sort(key=lambda r: r[0])
            _audit(store, report)
            if options.dry_run:
                raise _DryRun
    except _DryRun:
        pass
    if not options.dry_run and any(s.rejects for s in report.sheets):
        _write_rejects(report, import_plan.path, options.rejects)
    for result in report.sheets:
        if result.duplicates.review_groups and not options.dry_run:
            target = options.review_file or dups.default_review_path(import_plan.path)
            report.review_error = dups.write_review(result.duplicates, Path(target))
    return report


def _vault(store: Store, dry_run: bool) -> Vault:
    if store.has_key() or not dry_run:
        return store.vault()
    # A dry run must not create the database's key; a throwaway key hashes consistently
    # within the run, and a database without a key holds no contact details to match.
    from crmcli.credentials import Vault, new_master_key

    return Vault(new_master_key())


def _backup(store: Store) -> str | None:
    try:
        from crmcli.store.backup import auto_backup
    except ImportError:  # pragma: no cover - the backup module ships with the store
        return None
    return str(auto_backup(store, "import"))


def _audit(store: Store, report: ImportReport) -> None:
    customers = [s for s in report.sheets if s.kind == "customers"]
    interactions = [s for s in report.sheets if s.kind == "interactions"]
    details: dict[str, Any] = {
        "file": Path(report.file).name,
        "sheet": ", ".join(s.sheet or "" for s in report.sheets) or None,
    }
    for name in ("created", "updated", "unchanged", "skipped", "rejected"):
        details[name] = sum(getattr(s, name) for s in customers)
    for sheet in customers:
        if sheet.duplicates.total:
            found = sheet.duplicates
            details["duplicates"] = {
                "on_duplicate": found.on_duplicate,
                "likely": {k: n for k, n in found.likely.items() if n},
                "possible": found.possible,
            }
    if interactions:
        details["interactions"] = {
            n: sum(getattr(s, n) for s in interactions)
            for n in ("created", "unchanged", "skipped", "rejected")
        }
    if report.backup:
        details["backup"] = report.backup
    journal.record(store, "import", details=details)


class _Sheet:
    """What the two sheet importers share: rejecting rows and reading in chunks."""

    def __init__(self, planned: _PlannedSheet, options: ImportOptions, result: SheetResult):
        self.planned = planned
        self.options = options
        self.result = result

    def reject(self, number: int, cells: Sequence[object], column: str, reason: str) -> None:
        result = self.result
        self.on_reject(cells)
        problem = Problem(result.sheet, number, column, reason)
        if self.options.strict:
            where = f"sheet {result.sheet}, " if result.sheet else ""
            raise InvalidInput(f"{where}{problem}; nothing was imported (--strict)")
        result.rejected += 1
        result.problems.append(problem)
        result.rejects.append((number, list(cells), str(problem)))

    def on_reject(self, cells: Sequence[object]) -> None:
        """Hook: remember what a rejected row was (its customer number)."""

    def chunks(self) -> Iterator[list[tuple[int, list[object]]]]:
        chunk: list[tuple[int, list[object]]] = []
        for item in self.planned.sheet.rows:
            chunk.append(item)
            if len(chunk) >= CHUNK_ROWS:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


class _CustomerImport(_Sheet):
    """Customers: validate, match (customer number, then phone/email), create or fill."""

    def __init__(
        self,
        store: Store,
        vault: Vault | None,
        planned: _PlannedSheet,
        options: ImportOptions,
        result: SheetResult,
        id_map: dict[str, int],
        rejected_ids: set[str],
        numbers: dict[str, int | str],
    ) -> None:
        super().__init__(planned, options, result)
        self.store = store
        self.vault = vault
        self.id_map = id_map
        self.numbers = numbers
        self.twins = dups.TwinFinder(store, vault)
        self.row_records: dict[int, dups.ms.MatchRecord] = {}  # by row number, this chunk
        self.known: dict[int, tuple[str | None, str]] = {}  # the chunk's _Lookups.known
        self.reader = CustomerRows(
            planned.sheet.headers,
            planned.header_map,
            keep_extra=options.keep_extra,
            source_id_column=planned.source_id_column,
        )
        if options.keep_extra:
            result.kept_columns, result.unmapped_columns = result.unmapped_columns, []
        self.stamp = now_utc()
        self.next_id = bulk.next_customer_id(store)
        # New customers of the current chunk (not yet in the database), and the keys that find
        # them or customers changed during this chunk; reset after each flush.
        self.pending: dict[int, bulk.NewCustomer] = {}
        self.local_ext: dict[str, int] = {}
        self.local_e164: dict[str, set[int]] = {}
        self.local_tail8: dict[str, set[tuple[int, bool]]] = {}
        self.local_emails: dict[str, set[int]] = {}
        self.name_keys: dict[int, str] = {}
        self.rejected_ids = rejected_ids
        self.source_of: dict[int, str] = {}  # created here from an export row: its crmcli id

    def on_reject(self, cells: Sequence[object]) -> None:
        from crmcli.sheets import cell_text

        for index, name in self.planned.header_map.fields.items():
            external_id = cell_text(cells[index]) if index < len(cells) else None
            if name == "external_id" and external_id:
                self.rejected_ids.add(external_id)

    def run(self, advance: Callable[[int], None]) -> None:
        for chunk in self.chunks():
            rows: list[tuple[CustomerRow, list[object]]] = []
            for number, cells in chunk:
                try:
                    row = self.reader.read(number, cells)
                except Rejected as exc:
                    self.reject(number, cells, exc.column, exc.reason)
                    continue
                if row is None:
                    self.result.skipped += 1
                    continue
                self.result.masked_skipped += row.masked_skipped
                rows.append((row, cells))
            self._apply(rows)
            bulk.insert_customers(self.store, list(self.pending.values()), self.vault, self.stamp)
            self.twins.flushed(list(self.pending))
            self.pending.clear()
            for local in (self.local_ext, self.local_e164, self.local_tail8, self.local_emails):
                local.clear()
            self.name_keys.clear()
            advance(len(chunk))
        if self.result.duplicates.review_pairs:
            self.result.duplicates.review_groups = dups.review_groups(
                self.store, self.result.duplicates
            )

    # -- matching -----------------------------------------------------------------------
    # A phone is the same phone when the E.164 forms are equal; the last 8 digits decide only
    # when one side could not be canonicalised (a bare landline). Comparing last-8 digits
    # always would tie 13812345678 to 13912345678.

    def _hashes(self, row: CustomerRow) -> _Contacts:
        vault = self.vault
        contacts = _Contacts()
        if vault is None:
            return contacts
        for phone in row.phones:
            e164 = vault.blind("e164", phone.e164) if phone.e164 else None
            contacts.phones.append((e164, vault.blind("tail8", phone.tail8)))
        contacts.emails = [vault.blind("email", e) for e in row.emails]
        return contacts

    def _holders(self, contact: tuple[str | None, str], db: _Lookups) -> set[int]:
        e164, tail8 = contact
        found: set[int] = set()
        for cid, has_e164 in db.tail8.get(tail8, set()) | self.local_tail8.get(tail8, set()):
            if e164 is None or not has_e164:
                found.add(cid)
        if e164 is not None:
            found |= db.e164.get(e164, set()) | self.local_e164.get(e164, set())
        return found

    def _apply(self, rows: list[tuple[CustomerRow, list[object]]]) -> None:
        hashed = [(row, cells, self._hashes(row)) for row, cells in rows]
        ext_ids = [r.fields["external_id"] for r, _, _ in hashed if r.fields.get("external_id")]
        db = _Lookups(owners=bulk.owners_of_external_ids(self.store, ext_ids))
        db.e164 = bulk.customers_by_e164_hashes(
            self.store, [e for _, _, c in hashed for e, _ in c.phones if e]
        )
        db.tail8 = bulk.customers_by_tail8_hashes(
            self.store, [t for _, _, c in hashed for _, t in c.phones]
        )
        db.emails = bulk.customers_by_email_hashes(
            self.store, [e for _, _, c in hashed for e in c.emails]
        )
        ids = {i for ids in (*db.e164.values(), *db.emails.values()) for i in ids}
        ids |= {i for pairs in db.tail8.values() for i, _ in pairs}
        db.known = self.known = bulk.identities(self.store, ids)
        self.row_records.clear()

        def upcoming() -> list[dups.ms.MatchRecord]:
            return [self._record(row, contacts) for row, _, contacts in hashed]

        self.twins.begin(upcoming)
        for row, cells, contacts in hashed:
            self._one(row, cells, contacts, db)

    def _identity(self, cid: int, known: dict[int, tuple[str | None, str]]) -> tuple[Any, str]:
        if cid in self.pending:
            new = self.pending[cid]
            return new.fields.get("external_id"), self.name_keys.get(cid, "")
        if cid not in known:
            known.update(bulk.identities(self.store, [cid]))
        return known.get(cid, (None, ""))

    def _one(
        self, row: CustomerRow, cells: list[object], contacts: _Contacts, db: _Lookups
    ) -> None:
        from crmcli import matching

        ext = row.fields.get("external_id")
        target = self.local_ext.get(ext) if ext else None
        if target is None and ext:
            target = db.owners.get(ext)
        if target is None and (contacts.phones or contacts.emails):
            scores: dict[int, int] = {}
            personal: set[int] = set()  # share a mobile, another phone or an e-mail
            for phone, contact in zip(row.phones, contacts.phones, strict=True):
                for cid in self._holders(contact, db):
                    scores[cid] = scores.get(cid, 0) + 1
                    if not dups.is_landline(phone):
                        personal.add(cid)
            for email in contacts.emails:
                for cid in db.emails.get(email, set()) | self.local_emails.get(email, set()):
                    scores[cid] = scores.get(cid, 0) + 1
                    personal.add(cid)
            name_key = matching.name_key(row.fields["name"]) if row.fields.get("name") else ""
            best: tuple[int, int, int] | None = None
            for cid, score in scores.items():
                their_ext, their_name = self._identity(cid, db.known)
                same_name = bool(name_key) and name_key == their_name
                if ext and their_ext and their_ext != ext:
                    continue  # another customer number: a different record
                if row.source_id and self.source_of.get(cid, row.source_id) != row.source_id:
                    continue  # two customers of one export are two customers
                if cid not in personal and not same_name:
                    continue  # colleagues share an office landline, not an identity
                rank = (score, int(same_name), -cid)
                if best is None or rank > best:
                    best = rank
            target = -best[2] if best else None
        if target is None:
            target = self._not_identified(row, cells, contacts)
        elif target in self.pending:
            self._fill_pending(self.pending[target], row, contacts)
        else:
            self._update(target, row, contacts)
        if row.source_id and target is not None:
            self.id_map[row.source_id] = target

    def _not_identified(
        self, row: CustomerRow, cells: list[object], contacts: _Contacts
    ) -> int | None:
        """A row that matched no customer exactly: ask the duplicate matcher, then create,
        fill, skip or report as --on-duplicate says (see import_duplicates)."""
        if not row.fields.get("name"):
            return self._create(row, cells, contacts, None)  # rejected: a customer needs a name
        rec = self._record(row, contacts)

        def excluded(cid: int) -> bool:  # two customers of one export are two customers
            return bool(row.source_id) and self.source_of.get(cid, row.source_id) != row.source_id

        twin = self.twins.best(rec, excluded)
        decision = "created"
        if twin is not None and twin.band == "likely":
            decision = dups.DECISIONS[self.options.on_duplicate]
        ext = row.fields.get("external_id")
        target: int | None
        if decision == "skipped":
            assert twin is not None
            self.result.skipped += 1
            target = None
            if ext:
                self.numbers[ext] = (
                    f"customer {ext} was skipped as a likely duplicate of #{twin.customer_id}"
                )
        elif decision == "updated":
            assert twin is not None
            target = twin.customer_id
            if target in self.pending:
                self._fill_pending(self.pending[target], row, contacts)
            else:
                self._update(target, row, contacts)
            if ext:
                self.numbers[ext] = target
        else:
            target = self._create(row, cells, contacts, rec)
        if twin is not None:
            name = row.fields["name"]
            self.result.duplicates.add(dups.DuplicatePair(row.number, name, twin, decision, target))
        return target

    def _record(self, row: CustomerRow, contacts: _Contacts) -> dups.ms.MatchRecord:
        """The row as the duplicate matcher sees it (built once per row)."""
        rec = self.row_records.get(row.number)
        if rec is None:
            tail8 = [t for _, t in contacts.phones]
            rec = dups.row_record(row.fields, row.phones, tail8, contacts.emails)
            self.row_records[row.number] = rec
        return rec

    # -- writing ------------------------------------------------------------------------

    def _create(
        self,
        row: CustomerRow,
        cells: list[object],
        contacts: _Contacts,
        rec: dups.ms.MatchRecord | None,
    ) -> int | None:
        from crmcli import matching

        if not row.fields.get("name"):
            column = row.columns.get("name", "")
            self.reject(row.number, cells, column, "a customer needs a name")
            return None
        fields = dict(row.fields)
        fields.setdefault("kind", "person")
        fields.setdefault("status", "lead")
        cid = self.next_id
        self.next_id += 1
        self.pending[cid] = bulk.NewCustomer(cid, fields, row.phones, row.emails, row.tags)
        self.name_keys[cid] = matching.name_key(fields["name"])
        if fields.get("external_id"):
            self.local_ext[fields["external_id"]] = cid
        self._remember(cid, contacts)
        if row.source_id:
            self.id_map[row.source_id] = cid
            self.source_of[cid] = row.source_id
        self.result.created += 1
        if rec is not None:
            self.twins.created(cid, rec)
        return cid

    def _remember(self, cid: int, contacts: _Contacts) -> None:
        for e164, tail8 in contacts.phones:
            if e164 is not None:
                self.local_e164.setdefault(e164, set()).add(cid)
            self.local_tail8.setdefault(tail8, set()).add((cid, e164 is not None))
        for email in contacts.emails:
            self.local_emails.setdefault(email, set()).add(cid)

    def _fill_pending(self, new: bulk.NewCustomer, row: CustomerRow, contacts: _Contacts) -> None:
        """The same customer twice in one chunk: fold the later row into the pending one."""
        changed = False
        for name, value in row.fields.items():
            current = new.fields.get(name)
            fill = current in (None, "") or (self.options.overwrite and name != "external_id")
            if fill and current != value:
                new.fields[name] = value
                changed = True
        if new.fields.get("external_id") and new.fields["external_id"] not in self.local_ext:
            self.local_ext[new.fields["external_id"]] = new.id
        have = {p.e164 or p.digits for p in new.phones}
        for phone in row.phones:
            if (phone.e164 or phone.digits) not in have:
                new.phones.append(phone)
                have.add(phone.e164 or phone.digits)
                changed = True
        for email in row.emails:
            if email not in new.emails:
                new.emails.append(email)
                changed = True
        for tag in row.tags:
            if tag not in new.tags:
                new.tags.append(tag)
                changed = True
        self._remember(new.id, contacts)
        if changed:
            self.result.updated += 1
        else:
            self.result.unchanged += 1

    def _update(self, cid: int, row: CustomerRow, contacts: _Contacts) -> None:
        """Fill the empty fields of an existing customer (all of them with --overwrite) and add
        the phones, emails and tags it lacks; contact details are never removed."""
        store = self.store
        current = customers_db.fetch_row(store, cid)
        assert current is not None
        changes: dict[str, Any] = {}
        for name, value in row.fields.items():
            if name not in customers_db.EDITABLE or current[name] == value:
                continue
            if current[name] in (None, "") or (self.options.overwrite and name != "external_id"):
                changes[name] = value
        held = bulk.contact_hashes(store, cid)
        new_phones = []
        for phone, (e164, tail8) in zip(row.phones, contacts.phones, strict=True):
            if not held.has_phone(e164, tail8):
                new_phones.append(phone)
                held.add_phone(e164, tail8)
        new_emails = []
        for email, key in zip(row.emails, contacts.emails, strict=True):
            if key not in held.emails:
                new_emails.append(email)
                held.emails.add(key)
        new_tags = [t for t in row.tags if t not in bulk.tags_of(store, cid)]
        if not (changes or new_phones or new_emails or new_tags):
            self.result.unchanged += 1
            return
        if new_phones or new_emails:
            assert self.vault is not None
            customers_db.add_phones(store, cid, new_phones, self.vault)
            customers_db.add_emails(store, cid, new_emails, self.vault)
        customers_db.set_tags(store, cid, new_tags)
        customers_db.update(store, cid, changes)  # refreshes derived keys and the index
        self.twins.changed(cid)
        self._remember(cid, contacts)
        if changes.get("external_id"):
            self.local_ext[changes["external_id"]] = cid
            if cid in self.known:  # a later row of this chunk must see the number
                self.known[cid] = (changes["external_id"], self.known[cid][1])
        details: dict[str, Any] = {"row": row.number}
        if changes:
            details["changed"] = {k: (current[k], v) for k, v in sorted(changes.items())}
        if new_phones:
            details["added_phones"] = [p.masked for p in new_phones]
        if new_emails:
            from crmcli.normalize import mask_email

            details["added_emails"] = [mask_email(e) for e in new_emails]
        if new_tags:
            details["added_tags"] = new_tags
        journal.record(store, "import-update", customer_id=cid, details=details)
        self.result.updated += 1


class _InteractionImport(_Sheet):
    """Interactions: resolve the customer, skip what is already recorded, insert the rest."""

    def __init__(
        self,
        store: Store,
        planned: _PlannedSheet,
        options: ImportOptions,
        result: SheetResult,
        id_map: dict[str, int],
        rejected_ids: set[str],
        numbers: dict[str, int | str],
        follow_ups_given: bool,
    ) -> None:
        super().__init__(planned, options, result)
        self.store = store
        self.id_map = id_map
        self.rejected_ids = rejected_ids
        self.numbers = numbers
        self.follow_ups_given = follow_ups_given
        self.reader = InteractionRows(
            planned.sheet.headers,
            planned.header_map,
            external_id_column=planned.external_id_column,
            source_id_column=planned.source_id_column,
        )
        self.resolved: dict[tuple[str, str], int | str] = {}

    def run(self, advance: Callable[[int], None]) -> None:
        stamp = now_utc()
        newest: dict[int, InteractionRow] = {}
        for chunk in self.chunks():
            batch: list[tuple] = []
            seen: set[tuple] = set()
            for number, cells in chunk:
                try:
                    row = self.reader.read(number, cells)
                    if row is None:
                        self.result.skipped += 1
                        continue
                    cid = self._customer(row)
                except Rejected as exc:
                    self.reject(number, cells, exc.column, exc.reason)
                    continue
                key = (cid, row.at, row.channel, row.summary)
                if key in seen or bulk.find_interaction(self.store, *key) is not None:
                    self.result.unchanged += 1
                    continue
                seen.add(key)
                batch.append((*key, row.outcome, row.next_follow_up_on))
                if cid not in newest or row.at >= newest[cid].at:
                    newest[cid] = row
                self.result.created += 1
            bulk.insert_interactions(self.store, batch, stamp)
            advance(len(chunk))
        for cid, row in newest.items():
            interactions_db.refresh_last_contact(self.store, cid)
            # The newest interaction's follow-up becomes the customer's when they have none,
            # unless a customers sheet of this import stated the follow-ups (an export does).
            if row.next_follow_up_on and not self.follow_ups_given:
                bulk.fill_next_follow_up(self.store, cid, row.next_follow_up_on)

    def _customer(self, row: InteractionRow) -> int:
        """The customer an interaction row names: by the export's id (this import), customer
        number, crmcli id, then an unambiguous name."""
        last: tuple[str, str] | None = None
        for how, header, value in row.refs:
            key = (how, value)
            if key not in self.resolved:
                self.resolved[key] = self._resolve(how, value)
            found = self.resolved[key]
            if isinstance(found, int):
                return found
            last = (header, found)
        assert last is not None
        raise Rejected(*last)

    def _resolve(self, how: str, value: str) -> int | str:
        from crmcli import matching

        if how == "source_id":
            return self.id_map.get(value, f"customer {value} of the export was not imported")
        owner = customers_db.owner_of_external_id(self.store, value)
        if owner is not None:
            survivor = customers_db.survivor_of(self.store, owner)
            if survivor is not None:
                return survivor
        if value in self.rejected_ids:
            return f"customer {value} was rejected on the customers sheet"
        if value in self.numbers:  # folded into a customer by --on-duplicate, or skipped
            folded = self.numbers[value]
            return (
                folded
                if isinstance(folded, str)
                else customers_db.survivor_of(self.store, folded) or folded
            )
        if how == "external_id":
            return f"no customer with customer number {value!r}"
        if value.isascii() and value.isdigit() and len(value) < 7:
            survivor = customers_db.survivor_of(self.store, int(value))
            if survivor is not None:
                return survivor
        ids = bulk.ids_with_name_key(self.store, matching.name_key(value))
        if len(ids) == 1:
            return ids[0]
        if ids:
            return f"{value!r} names {len(ids)} customers; use the customer number (客户编号)"
        return f"no customer {value!r} (by customer number, id or name)"


# ---------------------------------------------------------------------------------------------
# The rejects workbook


def default_rejects_path(path: Path) -> Path:
    suffix = ".csv" if path.suffix.lower() in {".csv", ".tsv", ".txt", ".tab"} else ".xlsx"
    return path.with_name(f"{path.stem}.rejects{suffix}")


def _safe_cell(value: object) -> object:
    """A rejected row's cell as written back: text (phones stay digits), dates as dates, and
    never a refused number (the rejects file must not become a second copy of one)."""
    import datetime as dt

    from crmcli.sensitive import find_sensitive
    from crmcli.sheets import cell_text

    if isinstance(value, dt.date):
        return value
    text = cell_text(value)
    if text and len(text) >= 9:
        found = find_sensitive(text)
        if found is not None:
            return f"[refused: {found.hint}]"
    return text


def _write_rejects(report: ImportReport, source: Path, target: Path | None) -> None:
    from crmcli.sheets import SheetSpec, write_csv, write_xlsx

    path = Path(target) if target else default_rejects_path(source)
    specs = []
    for result in report.sheets:
        if not result.rejects:
            continue
        refused = {h for h in result.dropped_columns}
        headers = [h or f"Column {i + 1}" for i, h in enumerate(result.headers)]
        width = len(headers)
        rows = []
        for _, cells, error in result.rejects:
            cells = (cells + [None] * width)[:width]
            out = [
                None if result.headers[i] in refused else _safe_cell(v) for i, v in enumerate(cells)
            ]
            rows.append([*out, error])
        text_columns = set(headers)
        specs.append(SheetSpec(result.sheet or "Rejects", [*headers, "error"], rows, text_columns))
    try:
        if path.suffix.lower() == ".csv":
            write_csv(path, specs[0].columns, specs[0].rows)
        else:
            write_xlsx(path, specs)
    except OSError as exc:
        report.rejects_error = f"could not write {path}: {exc.strerror or exc}"
        return
    report.rejects_file = str(path)


def import_file(
    store: Store,
    path: Path,
    options: ImportOptions,
    *,
    sheet: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """plan + run, for callers that need no progress total up front (tests, scripts)."""
    return run(
        store, plan(path, sheet=sheet, overrides=options.overrides), options, progress=progress
    )
