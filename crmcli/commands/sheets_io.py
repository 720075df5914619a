"""Spreadsheets in and out: `import FILE` and `export FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crmcli import render
from crmcli.commands import app
from crmcli.commands.listing import (
    CityFilter,
    GradeFilter,
    SourceFilter,
    StatusFilter,
    TagFilter,
    build_filters,
)
from crmcli.commands.shared import (
    DbOption,
    FormatOption,
    KeyFileOption,
    RevealOption,
    handle_errors,
    open_db,
    split_values,
)
from crmcli.errors import InvalidInput, UsageError
from crmcli.render import Format

if TYPE_CHECKING:
    from crmcli.operations.import_duplicates import DuplicateSummary
    from crmcli.operations.importing import ImportReport
    from crmcli.store import Store

_FIRST_PROBLEMS = 10
_FIRST_PAIRS = 5


def _overrides(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values or []:
        column, eq, target = value.partition("=")
        if not eq or not column.strip() or not target.strip():
            raise UsageError(f'--map {value!r}: write it as "列名=field", e.g. "手机号码=phones"')
        out[column.strip()] = target.strip()
    return out


def _announce_key(store: Store) -> None:
    if store.new_recovery_code:
        render.key_created(store.key_source or "", store.new_recovery_code)


def import_(
    file: Annotated[Path, typer.Argument(help="The .xlsx, .xls, .ods or .csv file to import.")],
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet",
            help="Import this sheet (default: the customers sheet, then an interactions sheet).",
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help='Map a column to a field, e.g. --map "手机号码=phones" (field "ignore" drops it).',
        ),
    ] = None,
    keep_extra: Annotated[
        bool, typer.Option("--keep-extra", help="Keep unmapped columns in the notes.")
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace the fields of matched customers (default: fill empty ones only).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Show what would happen; write nothing.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Stop at the first bad row and import nothing (exit 65)."),
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            help="Where to write rejected rows (default: FILE.rejects.xlsx beside the input).",
            show_default=False,
        ),
    ] = None,
    on_duplicate: Annotated[
        str,
        typer.Option(
            "--on-duplicate",
            help="A row that likely duplicates a customer: create it and report it (default),"
            " update (fill the customer's empty fields), skip, or review (create it and write"
            " the pair to a workbook for `crmcli dedupe --apply`).",
        ),
    ] = "create",
    review_file: Annotated[
        Path | None,
        typer.Option(
            "--review-file",
            help="With --on-duplicate review: the workbook to write"
            " (default: FILE.duplicates.xlsx beside the input).",
            show_default=False,
        ),
    ] = None,
    parallel: Annotated[
        bool | None,
        typer.Option(
            "--parallel/--no-parallel",
            help="Validate and prepare rows in a second process while this one writes"
            " (default: with 2+ cores, for a CSV or a sheet of more than 3,000 rows).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    key_file: KeyFileOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Import customers (and interactions) from a spreadsheet.

    Rows match existing customers by customer number (客户编号), then by an identical phone or
    email; matched customers get their empty fields filled. A row that matches no one that way
    but looks like a customer (the duplicate matcher of `add` and `dedupe`) is created and
    reported, or handled as --on-duplicate says; a possible duplicate is only reported.
    Rejected rows are reported and written, with an "error" column, to a rejects workbook to
    fix and import again. Everything happens in one transaction; exit 65 when no row could be
    imported.
    """
    import contextlib
    import tempfile

    from crmcli.operations import import_duplicates, importing

    if on_duplicate not in import_duplicates.ON_DUPLICATE:
        choices = "|".join(import_duplicates.ON_DUPLICATE)
        raise UsageError(f"--on-duplicate {on_duplicate}: use {choices}")
    if review_file is not None and on_duplicate != "review":
        raise UsageError("--review-file goes with --on-duplicate review")
    options = importing.ImportOptions(
        overrides=_overrides(map_),
        keep_extra=keep_extra,
        overwrite=overwrite,
        strict=strict,
        dry_run=dry_run,
        rejects=rejects,
        on_duplicate=on_duplicate,
        review_file=review_file,
        parallel=parallel,
    )
    plan = importing.plan(file, sheet=sheet, overrides=options.overrides)
    with contextlib.ExitStack() as stack:
        from crmcli.store import default_db_path

        if dry_run and not (db or default_db_path()).expanduser().exists():
            # Nothing to match against: plan against an empty database that is thrown away.
            db = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "plan.db"
        store = stack.enter_context(open_db(db, "import", create=True, key_file=key_file))
        with render.progress(plan.total_rows, f"Importing {file.name}") as advance:
            report = importing.run(store, plan, options, progress=advance)
        if not dry_run:
            _announce_key(store)
    if fmt is Format.table:
        _summary(report)
    else:
        render.data(report.as_dict())
    if not report.imported_anything and any(s.rejected for s in report.sheets):
        rejected = sum(s.rejected for s in report.sheets)
        raise InvalidInput(f"no row of {file.name} could be imported ({rejected} rejected)")


def _summary(report: ImportReport) -> None:
    """What a person reads after an import, on stderr."""
    name = Path(report.file).name
    if report.dry_run:
        render.message(f"Dry run of {name}: nothing was written. The import would give:")
    else:
        render.message(f"Imported {name}:")
    for sheet in report.sheets:
        where = f"{sheet.sheet} ({sheet.kind}" if sheet.sheet else f"{sheet.kind} ("
        where += f"{', ' if sheet.sheet else ''}header on row {sheet.header_row})"
        counts = sheet.counts()
        if sheet.kind == "interactions":
            del counts["updated"]
        render.message(f"  {where}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    for sheet in report.sheets:
        for column in sheet.dropped_columns:
            render.warn(
                f"dropped column {column!r}: national ID and bank card numbers are never stored"
            )
        if sheet.unmapped_columns:
            columns = ", ".join(sheet.unmapped_columns)
            render.warn(
                f"columns not imported: {columns}"
                ' (--keep-extra keeps them in the notes; --map "列名=field" maps one)'
            )
        if sheet.kept_columns:
            render.message(f"  kept in the notes: {', '.join(sheet.kept_columns)}")
        if sheet.masked_skipped:
            render.warn(
                f"skipped {sheet.masked_skipped} masked phones/emails (like 138****5678);"
                " export with --reveal to carry contact details"
            )
        _duplicates(sheet.duplicates, report.dry_run)
    for override in report.unused_overrides:
        render.warn(f"--map {override!r} matches no column")
    problems = [(s, p) for s in report.sheets for p in s.problems]
    if problems:
        shown = problems[:_FIRST_PROBLEMS]
        count = (
            f"{len(problems)}"
            if len(problems) == len(shown)
            else f"first {len(shown)} of {len(problems)}"
        )
        render.message(f"Rejected rows ({count}):")
        for sheet, problem in shown:
            prefix = f"{sheet.sheet}, " if sheet.sheet and len(report.sheets) > 1 else ""
            render.message(f"  {prefix}{problem}")
    if report.rejects_file:
        render.message(
            f"Rejected rows written to {report.rejects_file} (see its 'error' column);"
            " fix them there and import that file."
        )
    if report.rejects_error:
        render.warn(report.rejects_error)
    if report.review_error:
        render.warn(report.review_error)
    if report.backup:
        render.message(f"Backup taken before the import: {report.backup}")


def _duplicates(found: DuplicateSummary, dry_run: bool) -> None:
    """The rows that look like customers: counts per decision, then the first pairs."""
    likely = sum(found.likely.values())
    if likely:
        what = {
            "created": "created",
            "updated": "filled into the customer they match",
            "skipped": "skipped",
            "review": "created for review",
        }
        done = ", ".join(f"{n} {what[k]}" for k, n in found.likely.items() if n)
        render.warn(
            f"{likely} row(s) look like existing customers (likely duplicates): {done}"
            f" (--on-duplicate {found.on_duplicate})"
        )
        if found.on_duplicate == "create":
            render.message(
                "  run `crmcli dedupe` to review and merge them, or import with"
                " --on-duplicate update|skip|review"
            )
    if found.possible:
        render.message(
            f"  {found.possible} row(s) resemble a customer (possible duplicates): created;"
            " `crmcli dedupe` lists them"
        )
    shown = found.pairs[:_FIRST_PAIRS]
    if shown and found.total > len(shown):
        render.message(f"  the first {len(shown)} of {found.total}:")
    for pair in shown:
        twin = pair.twin
        outcome = {
            "created": f"created #{pair.customer_id}",
            "review": f"created #{pair.customer_id} for review",
            "updated": f"filled into #{pair.customer_id}",
            "skipped": "skipped",
        }[pair.decision]
        render.message(
            f"    row {pair.row} {pair.name} ~ #{twin.customer_id} {twin.name}"
            f" ({twin.band}, score {twin.score:g}: {'; '.join(twin.reasons)}): {outcome}"
        )
    if found.total > _FIRST_PAIRS:
        from crmcli.operations.import_duplicates import FIRST_PAIRS

        render.message(
            f"    … and {found.total - _FIRST_PAIRS} more (--format json lists the first"
            f" {FIRST_PAIRS}; --on-duplicate review writes every likely one to a workbook)"
        )
    if found.review_file:
        render.message(
            f"Likely duplicates written to {found.review_file}: check the decision column"
            f" (keep / merge / not), then run `crmcli dedupe --apply {found.review_file}`."
        )
    elif found.review_groups and dry_run:
        render.message(f"  the review workbook would list {len(found.review_groups)} group(s)")


app.command("import")(handle_errors(import_))


def export(
    file: Annotated[Path, typer.Argument(help="Where to write: .xlsx, .csv, .json or .jsonl.")],
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help="Only customers matching this search."),
    ] = None,
    status: StatusFilter = None,
    tag: TagFilter = None,
    grade: GradeFilter = None,
    source: SourceFilter = None,
    city: CityFilter = None,
    archived: Annotated[
        bool, typer.Option("--archived", help="Export the dormant pool (archived) instead.")
    ] = False,
    include_archived: Annotated[
        bool, typer.Option("--include-archived", help="Export archived customers too.")
    ] = False,
    labels: Annotated[
        str,
        typer.Option("--labels", help="en, or zh for Chinese headers and status labels."),
    ] = "en",
    reveal: RevealOption = False,
    db: DbOption = None,
    key_file: KeyFileOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Export customers to a workbook (Customers + Interactions sheets), CSV or JSON.

    The format follows FILE's extension; the filters are search's. Phones and emails are
    masked unless --reveal (audited); export with --reveal to re-import contact details.
    """
    from crmcli.operations import exporting

    exporting.format_of(file)
    if labels not in ("en", "zh"):
        raise UsageError(f"--labels {labels}: use en or zh")
    filters = build_filters(
        status, tag, grade, source, city, archived=None if include_archived else archived
    )
    chosen = {
        k: v
        for k, v in {
            "query": query,
            "status": split_values(status),
            "tag": split_values(tag),
            "grade": split_values(grade),
            "source": split_values(source),
            "city": split_values(city),
            "archived": archived or None,
            "include_archived": include_archived or None,
        }.items()
        if v
    }
    with open_db(db, "export", key_file=key_file) as store:
        ids = exporting.select(store, filters, query)
        with render.progress(len(ids), f"Exporting {file.name}") as advance:
            result = exporting.export(
                store,
                file,
                ids,
                reveal=reveal,
                labels=labels,
                filters=chosen,
                progress=advance,
            )
    if fmt is Format.table:
        what = f"{result.customers} customers"
        if result.format == "xlsx":
            what += f" and {result.interactions} interactions"
        elif result.format in ("json", "jsonl"):
            what += f" with {result.interactions} interactions"
        contacts = "full contact details; audited" if reveal else "contact details masked"
        render.message(f"Exported {what} to {file} ({contacts}).")
    else:
        render.data(result.as_dict())


app.command("export")(handle_errors(export))
