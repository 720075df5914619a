"""`crmcli history [ID]`: the audit trail (who, when, which command, what changed)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from crmcli import render
from crmcli.commands import app
from crmcli.commands.shared import DbOption, FormatOption, handle_errors, open_db, split_values
from crmcli.render import Column, Format

if TYPE_CHECKING:
    from crmcli.store import Store

HISTORY_FIELDS = (
    "id",
    "at",
    "os_user",
    "command",
    "action",
    "customer_id",
    "customer_name",
    "summary",
    "details",
)

HISTORY_COLUMNS = (
    Column("when", "When (UTC)"),
    Column("os_user", "Who", max_width=16),
    Column("command", "Command", max_width=16),
    Column("action", "Action", style="bold"),
    Column("customer", "Customer", max_width=24),
    Column("summary", "What changed"),
)


@app.command()
@handle_errors
def history(
    ref: Annotated[
        str | None,
        typer.Argument(
            help="A customer id (deleted ones too) or an unambiguous name/phone fragment;"
            " omit it for the whole trail.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            min=0,
            help="At most this many entries, newest first; 0 for all"
            " (default: 50 for the whole trail, all for one customer).",
            show_default=False,
        ),
    ] = None,
    action: Annotated[
        list[str] | None,
        typer.Option("--action", "-a", help="Only these actions (add, edit, log, reveal…)."),
    ] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The audit trail: every add, edit, log, merge, import, archive, delete, reveal and export."""
    from crmcli.operations import history as history_ops

    with open_db(db, "history") as store:
        customer_id = _customer(store, ref)
        trail = history_ops.history(store, customer_id, limit=limit, actions=split_values(action))
    rows = trail.entries
    if fmt is Format.table:
        for row in rows:
            row["when"] = row["at"][:16].replace("T", " ")
            name = row["customer_name"]
            cid = row["customer_id"]
            row["customer"] = "" if cid is None else f"#{cid} {name}" if name else f"#{cid}"
    elif fmt in (Format.csv, Format.tsv):
        for row in rows:
            row["details"] = (
                json.dumps(row["details"], ensure_ascii=False) if row["details"] else ""
            )
    about = f" of customer #{customer_id}" if customer_id is not None else ""
    render.emit(
        rows,
        HISTORY_COLUMNS,
        fmt,
        fields=HISTORY_FIELDS,
        title=f"History{about} (newest first)",
        empty=f"No history{about} yet.",
    )
    if trail.total > len(rows) and rows:
        render.message(
            f"Showing the {len(rows)} newest of {trail.total} entries; --limit 0 shows all."
        )


def _customer(store: Store, ref: str | None) -> int | None:
    """An id is taken as given (a deleted customer's history is still there); a name or phone
    fragment must name one customer."""
    if ref is None:
        return None
    ref = ref.strip()
    number = ref.removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) < 7:  # not '²': int() refuses it
        return int(number)
    from crmcli.operations.search import resolve

    return resolve(store, ref)
