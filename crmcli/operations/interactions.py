"""Logging interactions and the follow-up list ("who do I call today?")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from crmcli import normalize
from crmcli.errors import InvalidInput, NotFound
from crmcli.sensitive import refuse_sensitive
from crmcli.store import customers as customers_db
from crmcli.store import interactions as interactions_db
from crmcli.store import journal
from crmcli.store import reports as reports_db

if TYPE_CHECKING:
    from crmcli.store import Store


@dataclass
class Logged:
    id: int
    customer_id: int
    customer_name: str
    at: str
    channel: str
    next_follow_up_on: str | None


def log(
    store: Store,
    customer_id: int,
    text: str,
    *,
    channel: str = "note",
    at: str | None = None,
    next_on: str | None = None,
    outcome: str | None = None,
) -> Logged:
    summary = normalize.clean_text(text, multiline=True)
    if not summary:
        raise InvalidInput("text: an interaction needs a summary")
    refuse_sensitive({"text": summary, "outcome": outcome})
    channel = normalize.parse_channel(channel)
    when = normalize.parse_datetime(at) if at else normalize.parse_datetime("now")
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    follow_up = normalize.parse_date(next_on, relative=True).isoformat() if next_on else None
    clean_outcome = normalize.clean_text(outcome, multiline=True)
    with store.write():
        row = customers_db.fetch_row(store, customer_id)
        if row is None:
            raise NotFound(f"no customer with id {customer_id}")
        interaction_id = interactions_db.insert(
            store,
            customer_id,
            at=stamp,
            channel=channel,
            summary=summary,
            outcome=clean_outcome,
            next_follow_up_on=follow_up,
        )
        journal.record(
            store,
            "log",
            customer_id=customer_id,
            details={
                "interaction": interaction_id,
                "channel": channel,
                "at": stamp,
                "next_follow_up_on": follow_up,
            },
        )
    return Logged(interaction_id, customer_id, row["name"], stamp, channel, follow_up)


def followups(store: Store, *, within: int = 0, today: date | None = None) -> list[dict]:
    """Live customers whose next follow-up is due by today + `within` days, most overdue first."""
    today = today or date.today()
    horizon = (today + timedelta(days=within)).isoformat()
    records = customers_db.records(store, reports_db.followup_ids(store, horizon))
    for record in records:
        due = date.fromisoformat(record["next_follow_up_on"])
        record["days_overdue"] = (today - due).days
    return records
