"""Reports: `stale` (who has gone quiet; made for nightly scripts too) and `stats` (the overview).

`stale` never prompts without a terminal, never needs the key, and keeps stderr quiet unless
something is wrong, so cron mails only what matters.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crmcli import render
from crmcli.commands import app
from crmcli.commands.listing import GradeFilter, SourceFilter, StatusFilter, TagFilter
from crmcli.commands.shared import (
    DbOption,
    FormatOption,
    YesOption,
    confirm,
    handle_errors,
    open_db,
    split_values,
)
from crmcli.errors import ExitCode, NeedsConfirmation, UsageError
from crmcli.render import Column, Format

if TYPE_CHECKING:
    from crmcli.operations.reports import StaleReport

STALE_COLUMNS = (
    Column("id", "ID", style="dim", justify="right"),
    Column("name", "Name", style="bold", max_width=24, min_width=8),
    Column("company", "Company", max_width=28, min_width=10),
    Column("phone", "Phone", max_width=20),
    Column("status", "Status"),
    Column("grade", "Grade", optional=True),
    Column("days_silent", "Silent", justify="right"),
    Column("since", "Since", optional=True),
    Column("last_channel", "Last", optional=True),
    Column("next_follow_up_on", "Next"),
)


class Period(StrEnum):
    week = "week"
    month = "month"


def _stale_table(report: StaleReport) -> list[dict]:
    records = []
    for row in report.rows:
        record = dict(zip(report.fields, row, strict=True))
        phones = (record["phones"] or "").split("; ") if record["phones"] else []
        record["phone"] = (
            phones[0] + (f" (+{len(phones) - 1})" if len(phones) > 1 else "") if phones else ""
        )
        record["since"] = record["silent_since"][:10]
        record["days_silent"] = f"{record['days_silent']} d"
        records.append(record)
    return records


@app.command()
@handle_errors
def stale(
    days: Annotated[
        int,
        typer.Option(
            "--days",
            "-d",
            min=0,
            help="Silent for more than N days: no interaction (or, with none, no first contact"
            " or creation) since.",
        ),
    ] = 90,
    status: StatusFilter = None,
    tag: TagFilter = None,
    grade: GradeFilter = None,
    source: SourceFilter = None,
    include_lost: Annotated[
        bool, typer.Option("--include-lost", help="Also list lost customers (left out by default).")
    ] = False,
    include_archived: Annotated[
        bool,
        typer.Option("--include-archived", help="Also list archived customers (the dormant pool)."),
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="At most N, the longest silent.")
    ] = None,
    new_only: Annotated[
        bool,
        typer.Option(
            "--new-only",
            help="Only customers who became stale since the previous --new-only run of the same"
            " --report (the state is kept in the database); records the current set.",
        ),
    ] = False,
    report: Annotated[
        str | None,
        typer.Option(
            "--report",
            metavar="NAME",
            help="Name the report --new-only compares with (one per nightly job) (default: stale).",
            show_default=False,
        ),
    ] = None,
    fail_if_any: Annotated[
        bool,
        typer.Option(
            "--fail-if-any",
            help="Exit 4 when the report lists anyone, 0 when it is empty (for scripts).",
        ),
    ] = False,
    archive: Annotated[
        bool,
        typer.Option(
            "--archive",
            help="After listing them, move these customers to the dormant pool (an automatic"
            " backup is taken first; needs --yes without a terminal).",
        ),
    ] = False,
    yes: YesOption = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write a formatted .xlsx or .csv file (for mailing) instead of printing.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Who has had no interaction for more than N days, longest silent first.

    Lost and archived customers are left out unless asked. Needs no key and never prompts.

    Nightly: crmcli stale --new-only --report nightly -f csv --fail-if-any > new.csv
    """
    from crmcli import normalize
    from crmcli.operations import reports

    if report is not None and not new_only:
        raise UsageError("--report names the state --new-only compares with; add --new-only")
    if limit is not None and new_only:
        # The state records everyone who went stale: the ones past the limit would be lost.
        raise UsageError("--limit cannot be combined with --new-only")
    if archive and not yes and not sys.stdin.isatty():
        # Refuse before printing anything: half a run (listed, not archived) helps nobody.
        raise NeedsConfirmation("--archive needs confirmation and there is no terminal: pass --yes")
    if output is not None:
        output = reports.check_output_path(output)
    options = reports.StaleOptions(
        days=days,
        statuses=[normalize.parse_status(s) for s in split_values(status)],
        tags=[normalize.normalize_tag(t) for t in split_values(tag)],
        grades=[normalize.parse_grade(g) for g in split_values(grade)],
        sources=[normalize.normalize_source(s) for s in split_values(source)],
        include_lost=include_lost,
        include_archived=include_archived,
        limit=limit,
    )
    split = output is None and fmt in (Format.json, Format.jsonl)
    with open_db(db, "stale") as store:
        result = reports.stale_report(
            store,
            options,
            report=(report or "stale") if new_only else None,
            lists="split" if split else "joined",
        )
        if result.previous_options is not None:
            render.warn(
                f"report {result.report!r} last ran with other options; 'new' is measured"
                " against that run"
            )
        with reports.delivering(store, result):
            if output is not None:
                reports.write_stale_file(result, output)
                render.message(f"Wrote {result.count:,} stale customers to {output}")
            elif fmt is Format.table:
                what = (
                    f"Newly stale since the last {result.report!r} run"
                    if new_only
                    else "Stale customers"
                )
                records = _stale_table(result)
                render.emit(
                    records,
                    STALE_COLUMNS,
                    fmt,
                    fields=result.fields,
                    title=f"{what}: no interaction for more than {days} days ({len(records):,})",
                    empty=(
                        f"No customer became stale since the last {result.report!r} run."
                        if new_only
                        else f"No customer has been silent for more than {days} days."
                    ),
                )
            else:
                render.stream(result.rows, result.fields, fmt)
            sys.stdout.flush()
        if archive and result.count:
            if confirm(f"Archive these {result.count:,} customers?", yes):
                done = reports.archive_listed(store, result)
                kept = f"; {done.skipped:,} were no longer stale and stay" if done.skipped else ""
                render.message(
                    f"Archived {len(done.archived):,} customers (backup: {done.backup}){kept}."
                    " `crmcli restore ID` brings one back."
                )
            else:
                render.message("Nothing archived.")
    if fail_if_any and result.count:
        raise typer.Exit(int(ExitCode.REPORT_NOT_EMPTY))


@app.command()
@handle_errors
def stats(
    by: Annotated[
        Period, typer.Option("--by", help="Interactions chart per week (52) or month (12).")
    ] = Period.month,
    stale_days: Annotated[
        int,
        typer.Option("--stale-days", min=1, help="What counts as stale (as `stale --days`)."),
    ] = 90,
    include_archived: Annotated[
        bool,
        typer.Option("--include-archived", help="Count archived customers in the breakdowns."),
    ] = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The overview: customers by status, grade, source and city; the funnel lead → prospect →
    customer; interactions over the last year; follow-ups due this week; who goes stale soon.

    --format json gives the same numbers to programs; csv/tsv give section,key,value rows.
    """
    from crmcli.operations import reports

    with open_db(db, "stats") as store:
        overview = reports.overview(
            store, by=by.value, stale_days=stale_days, include_archived=include_archived
        )
    from crmcli import render_reports

    render_reports.stats(overview, fmt)
