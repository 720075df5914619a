"""Interactions (the timeline) and the per-customer fields they keep current.

`last_contacted_at` and `last_channel` live on the customer row so the stale report and
listings never aggregate millions of interactions; every write here keeps them in step.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from crmcli.store import now_utc

if TYPE_CHECKING:
    from crmcli.store import Store


def insert(
    store: Store,
    customer_id: int,
    *,
    at: str,
    channel: str,
    summary: str,
    outcome: str | None = None,
    next_follow_up_on: str | None = None,
) -> int:
    cursor = store.conn.execute(
        "INSERT INTO interactions (customer_id, at, channel, summary, outcome,"
        " next_follow_up_on, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (customer_id, at, channel, summary, outcome, next_follow_up_on, now_utc()),
    )
    refresh_last_contact(store, customer_id)
    if next_follow_up_on:
        store.conn.execute(
            "UPDATE customers SET next_follow_up_on = ? WHERE id = ?",
            (next_follow_up_on, customer_id),
        )
    else:
        # A follow-up that was due by this interaction's day is what was just done.
        store.conn.execute(
            "UPDATE customers SET next_follow_up_on = NULL WHERE id = ? AND next_follow_up_on <= ?",
            (customer_id, at[:10]),
        )
    return int(cursor.lastrowid or 0)


def refresh_last_contact(store: Store, customer_id: int) -> None:
    """Recompute the derived last-contact fields from the interactions themselves."""
    store.conn.execute(
        """UPDATE customers SET
             last_contacted_at = (SELECT MAX(at) FROM interactions WHERE customer_id = ?1),
             last_channel = (SELECT channel FROM interactions WHERE customer_id = ?1
                             ORDER BY at DESC, id DESC LIMIT 1),
             updated_at = ?2
           WHERE id = ?1""",
        (customer_id, now_utc()),
    )


def timeline(store: Store, customer_id: int) -> list[sqlite3.Row]:
    """Every interaction of a customer, newest first."""
    return store.query(
        "SELECT id, customer_id, at, channel, summary, outcome, next_follow_up_on, created_at"
        " FROM interactions WHERE customer_id = ? ORDER BY at DESC, id DESC",
        (customer_id,),
    )


def move(store: Store, from_ids: list[int], to_id: int) -> list[int]:
    """Re-home interactions (a merge); returns the ids moved so an unmerge can move them back."""
    moved: list[int] = []
    for customer_id in from_ids:
        rows = store.query("SELECT id FROM interactions WHERE customer_id = ?", (customer_id,))
        moved.extend(r[0] for r in rows)
        store.conn.execute(
            "UPDATE interactions SET customer_id = ? WHERE customer_id = ?", (to_id, customer_id)
        )
    refresh_last_contact(store, to_id)
    return moved
