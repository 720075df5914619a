"""The `log` command (alias `log-interaction`): record a call, email, meeting, visit or note."""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli import render
from crmcli.commands import app
from crmcli.commands.shared import DbOption, FormatOption, handle_errors, open_db
from crmcli.render import Format


@handle_errors
def log(
    ref: Annotated[str, typer.Argument(help="Customer id, or an unambiguous name/phone fragment.")],
    text: Annotated[str, typer.Argument(help="What happened (a summary).")],
    channel: Annotated[
        str,
        typer.Option(
            "--channel",
            "-c",
            help="call, email, meeting, message, visit or note (电话/微信/拜访…).",
        ),
    ] = "note",
    at: Annotated[
        str | None,
        typer.Option("--at", help="When (default now): 2024-05-20 14:30, 2024-05-20, yesterday…"),
    ] = None,
    next_: Annotated[
        str | None,
        typer.Option("--next", help="Set the next follow-up: a date, tomorrow, +3d, +2w."),
    ] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help="How it went.")] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Record an interaction on a customer's timeline.

    Without --next, a follow-up that was due by this day counts as done and is cleared.
    """
    from crmcli.operations import interactions
    from crmcli.operations.search import resolve

    with open_db(db, "log") as store:
        customer_id = resolve(store, ref)
        logged = interactions.log(
            store, customer_id, text, channel=channel, at=at, next_on=next_, outcome=outcome
        )
    follow = f"; next follow-up {logged.next_follow_up_on}" if logged.next_follow_up_on else ""
    render.message(
        f"Logged {logged.channel} with #{logged.customer_id} {logged.customer_name}"
        f" at {logged.at}{follow}"
    )
    if fmt is not Format.table:
        render.data(logged.__dict__)


app.command("log")(log)
app.command("log-interaction", hidden=True)(log)
