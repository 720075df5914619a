"""Read-only queries behind the lists that answer "who needs attention": follow-ups, stale."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crmcli.store import Store


def followup_ids(store: Store, horizon: str) -> list[int]:
    """Live customers whose next follow-up falls on or before `horizon` (ISO date)."""
    rows = store.query(
        "SELECT id FROM customers WHERE next_follow_up_on IS NOT NULL AND next_follow_up_on <= ?"
        " AND merged_into IS NULL AND archived_at IS NULL"
        " ORDER BY next_follow_up_on, name_key, id",
        (horizon,),
    )
    return [r[0] for r in rows]
