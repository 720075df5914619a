"""Importing a spreadsheet (`crmcli import FILE`): plan, validate, match, write in one transaction.

`plan(path, …)` opens the file and decides what to import before the database is touched: which
sheet holds customers and which holds interactions (a workbook with both imports both, customers
first), where each header row is, how its columns map to fields. Bad files fail here.

`run(store, plan, options)` then reads the rows in chunks, validates each one and prepares
what it would write (`import_rows`, `import_prepare`: in a second process on a machine with a
core to spare), matches it to an existing customer (customer number first, then an identical
phone or email) and creates, fills or leaves it; a row that matches nothing exactly but looks
like a customer to the duplicate matcher is handled as `--on-duplicate` says
(`import_duplicates`); rejected rows are collected with their row number, column and reason.
Everything happens in one write transaction: an import killed halfway leaves nothing behind,
`--strict` aborts at the first bad row, and `--dry-run` runs the very same import and rolls it
back, so its counts are exact. The rejects workbook (and the review workbook of
`--on-duplicate review`) is written after commit.

The pieces: `import_report` (options, plan and results), `import_rows` (reading and validating
one row), `import_prepare` (a chunk's rows made ready for matching and writing, maybe by a
worker process), `import_customers` and `import_interactions` (one sheet each),
`import_duplicates` (the matcher's side), `import_rejects` (the rejects workbook).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import InvalidInput, UsageError
from crmcli.operations import import_duplicates as dups
from crmcli.operations.import_customers import CustomerImport
from crmcli.operations.import_interactions import InteractionImport
from crmcli.operations.import_rejects import write_rejects
from crmcli.operations.import_report import (
    ImportOptions,
    ImportPlan,
    ImportReport,
    PlannedSheet,
    SheetResult,
)
from crmcli.store import customers as customers_db
from crmcli.store import journal

if TYPE_CHECKING:
    from crmcli.credentials import Vault
    from crmcli.sheets import Sheet
    from crmcli.store import Store

__all__ = [
    "CHUNK_ROWS",
    "ImportOptions",
    "ImportPlan",
    "ImportReport",
    "import_file",
    "plan",
    "run",
]

CHUNK_ROWS = 1000
# SQLite's page cache while an import writes (the default is 2 MiB): a 100k import builds a
# ~280 MB database with random-order inserts into a dozen indexes, which a small cache evicts
# and reads back again and again. 100k: CPU 79.7 -> 75.1 s, peak RSS 307 -> 447 MB; with it a
# 1M import's two processes peak at 934 MB together (benchmarks/README.md), under 1 GB.
PAGE_CACHE_MIB = 128

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


def _map(sheet: Sheet, kind: str, overrides: dict[str, str]) -> PlannedSheet:
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
    return PlannedSheet(sheet, kind, header_map, source_id_column, external_id_column)


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
        with store.page_cache(PAGE_CACHE_MIB), store.write():
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
                    CustomerImport(
                        store, vault, planned, options, result, id_map, rejected_ids, numbers
                    ).run(advance, CHUNK_ROWS)
                else:
                    follow_ups_given = any(
                        "next_follow_up_on" in p.header_map.fields.values()
                        for p in import_plan.sheets
                        if p.kind == "customers"
                    )
                    InteractionImport(
                        store,
                        planned,
                        options,
                        result,
                        id_map,
                        rejected_ids,
                        numbers,
                        follow_ups_given,
                    ).run(advance, CHUNK_ROWS)
            for result in report.sheets:  # a missing name is found after the row was read
                result.problems.sort(key=lambda p: p.row)
                result.rejects.sort(key=lambda r: r[0])
            _audit(store, report)
            if options.dry_run:
                raise _DryRun
    except _DryRun:
        pass
    if not options.dry_run and any(s.rejects for s in report.sheets):
        write_rejects(report, import_plan.path, options.rejects)
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
