"""Commands that list customers: search and followups."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crmcli import render
from crmcli.commands import app
from crmcli.commands.shared import (
    DbOption,
    FormatOption,
    KeyFileOption,
    RevealOption,
    handle_errors,
    open_db,
    split_values,
)
from crmcli.fields import RECORD_FIELDS
from crmcli.render import Column, Format

if TYPE_CHECKING:
    from crmcli.store.search import Filters

# The machine formats' fields: the record's names from DESIGN.md, in a stable order.
CUSTOMER_FIELDS = RECORD_FIELDS

CUSTOMER_COLUMNS = (
    Column("id", "ID", style="dim", justify="right"),
    Column("name", "Name", style="bold", max_width=24, min_width=8),
    Column("company", "Company", max_width=28, min_width=10),
    Column("phones", "Phone", max_width=24),
    Column("status", "Status"),
    Column("grade", "Grade", optional=True),
    Column("city", "City", max_width=12),
    Column("tags", "Tags", max_width=20, optional=True),
    Column("last_contact", "Last contact", optional=True),
    Column("next_follow_up_on", "Next"),
)

StatusFilter = Annotated[
    list[str] | None, typer.Option("--status", "-s", help="Only these statuses.")
]
TagFilter = Annotated[
    list[str] | None, typer.Option("--tag", "-t", help="Only customers with this tag.")
]
GradeFilter = Annotated[list[str] | None, typer.Option("--grade", "-g", help="Only these grades.")]
SourceFilter = Annotated[list[str] | None, typer.Option("--source", help="Only these sources.")]
CityFilter = Annotated[list[str] | None, typer.Option("--city", help="Only these cities.")]


def build_filters(
    status: list[str] | None = None,
    tag: list[str] | None = None,
    grade: list[str] | None = None,
    source: list[str] | None = None,
    city: list[str] | None = None,
    archived: bool | None = False,
) -> Filters:
    """Filters from the shared listing options, each value normalised like stored values."""
    from crmcli import normalize
    from crmcli.store.search import Filters

    return Filters(
        statuses=[normalize.parse_status(s) for s in split_values(status)],
        tags=[normalize.normalize_tag(t) for t in split_values(tag)],
        grades=[normalize.parse_grade(g) for g in split_values(grade)],
        sources=[normalize.normalize_source(s) for s in split_values(source)],
        cities=split_values(city),
        archived=archived,
    )


def _for_table(records: list[dict]) -> list[dict]:
    for record in records:
        phones = record.get("phones") or []
        record["phones"] = (
            phones[0] + (f" (+{len(phones) - 1})" if len(phones) > 1 else "") if phones else ""
        )
        last = record.get("last_contacted_at")
        record["last_contact"] = last[:10] if last else ""
    return records


@app.command()
@handle_errors
def search(
    query: Annotated[
        str | None,
        typer.Argument(
            help="A fragment of name, company, phone, email, notes, tags, city or pinyin."
        ),
    ] = None,
    status: StatusFilter = None,
    tag: TagFilter = None,
    grade: GradeFilter = None,
    source: SourceFilter = None,
    city: CityFilter = None,
    archived: Annotated[
        bool,
        typer.Option("--archived", help="Search the dormant pool (archived customers) instead."),
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            min=1,
            help="At most this many (default: 20 with a query, all without).",
        ),
    ] = None,
    reveal: RevealOption = False,
    db: DbOption = None,
    key_file: KeyFileOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Find customers, best match first (exact > prefix > substring > typo-tolerant).

    With no QUERY, lists every customer (the filters still apply).
    """
    from crmcli.operations import search as search_ops

    filters = build_filters(status, tag, grade, source, city, archived=archived)
    if limit is None and query:
        limit = search_ops.DEFAULT_LIMIT
    with open_db(db, "search", key_file=key_file) as store:
        records = search_ops.search(store, query, filters, limit)
        if reveal and records:
            from crmcli.operations.customers import reveal_contacts

            reveal_contacts(store, records)
    if fmt is Format.table:
        records = _for_table(records)
    render.emit(
        records,
        CUSTOMER_COLUMNS,
        fmt,
        fields=CUSTOMER_FIELDS,
        empty="No customer matches." if query else "No customers yet.",
    )


class FollowupFormat(StrEnum):
    """`--format` of followups: the listing formats plus an iCalendar file."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"
    ics = "ics"


@app.command()
@handle_errors
def followups(
    within: Annotated[
        int | None,
        typer.Option(
            "--within",
            "-w",
            min=0,
            help="Also list follow-ups due in the next N days (default 0; ics: all planned).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    fmt: Annotated[
        FollowupFormat,
        typer.Option(
            "--format",
            "-f",
            help="table for people; json, jsonl, csv, tsv for programs; ics: a calendar file"
            " of the planned follow-ups (`> followups.ics`, then import it).",
        ),
    ] = FollowupFormat.table,
) -> None:
    """Who is due today or overdue for their next follow-up, most overdue first."""
    if fmt is FollowupFormat.ics:
        from crmcli.operations.reports import followup_events
        from crmcli.store import now_utc

        with open_db(db, "followups") as store:
            events = followup_events(store, within=within)
        from crmcli import render_reports

        render_reports.ics(events, stamp=now_utc())
        return
    _followups(within or 0, db, Format(fmt.value))


def _followups(within: int, db: Path | None, fmt: Format) -> None:
    from crmcli.operations.interactions import followups as due

    with open_db(db, "followups") as store:
        records = due(store, within=within)
    columns = (
        Column("id", "ID", style="dim", justify="right"),
        Column("name", "Name", style="bold", max_width=24, min_width=8),
        Column("company", "Company", max_width=28, min_width=10),
        Column("phones", "Phone", max_width=24),
        Column("next_follow_up_on", "Due"),
        Column("overdue", "Overdue"),
        Column("status", "Status"),
        Column("last_contact", "Last contact", optional=True),
    )
    if fmt is Format.table:
        records = _for_table(records)
        for r in records:
            days = r["days_overdue"]
            r["overdue"] = f"{days} d" if days > 0 else ("today" if days == 0 else f"in {-days} d")
    render.emit(
        records,
        columns,
        fmt,
        fields=(*CUSTOMER_FIELDS, "days_overdue"),
        title="Follow-ups due",
        empty="No follow-ups due. 🎉"
        if within == 0
        else f"No follow-ups due within {within} days.",
        styler=lambda r: "red" if r["days_overdue"] > 0 else None,
    )
