"""The audit trail: who, when, which command, what changed. Append-only (triggers refuse
UPDATE and DELETE). Details hold before/after values with contact details masked; callers
must never pass plaintext phones, emails or key material.

Reading it (`history`, `count`) backs `crmcli history [ID]`; `crmcli.operations.history` turns
the details into one readable line.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from crmcli.store import now_utc

if TYPE_CHECKING:
    from crmcli.store import Store


def os_user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no passwd entry (containers, cron with a bare environment)
        return os.environ.get("USER") or str(os.getuid())


def record(
    store: Store,
    action: str,
    *,
    customer_id: int | None = None,
    details: dict[str, Any] | None = None,
    command: str | None = None,
) -> None:
    store.conn.execute(
        "INSERT INTO audit (at, os_user, command, action, customer_id, details)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            now_utc(),
            os_user(),
            command or store.command,
            action,
            customer_id,
            json.dumps(details, ensure_ascii=False, default=str) if details else None,
        ),
    )


def _where(customer_id: int | None, actions: Sequence[str]) -> tuple[str, list[Any]]:
    conditions: list[str] = []
    params: list[Any] = []
    if customer_id is not None:
        # A customer's story includes the customers merged into it (their ids stay resolvable
        # and point here through merged_into), followed recursively.
        conditions.append(
            "customer_id IN (WITH RECURSIVE absorbed(id) AS (SELECT ? UNION"
            " SELECT c.id FROM customers c JOIN absorbed a ON c.merged_into = a.id)"
            " SELECT id FROM absorbed)"
        )
        params.append(customer_id)
    if actions:
        conditions.append(f"action IN ({','.join('?' * len(actions))})")
        params.extend(actions)
    return (" WHERE " + " AND ".join(conditions)) if conditions else "", params


def history(
    store: Store,
    customer_id: int | None,
    limit: int | None,
    *,
    actions: Sequence[str] = (),
) -> list[sqlite3.Row]:
    """Audit entries, newest first: all of them, or one customer's (with those merged into it)."""
    where, params = _where(customer_id, actions)
    sql = "SELECT id, at, os_user, command, action, customer_id, details FROM audit" + where
    sql += " ORDER BY id DESC"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return store.query(sql, params)


def count(store: Store, customer_id: int | None, *, actions: Sequence[str] = ()) -> int:
    where, params = _where(customer_id, actions)
    return int(store.scalar("SELECT COUNT(*) FROM audit" + where, params))


def customer_names(store: Store, customer_ids: Iterable[int]) -> dict[int, str]:
    """Current names of the customers that still exist (deleted ones are simply absent)."""
    ids = sorted(set(customer_ids))
    names: dict[int, str] = {}
    for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        chunk = ids[start : start + 900]
        rows = store.query(
            f"SELECT id, name FROM customers WHERE id IN ({','.join('?' * len(chunk))})", chunk
        )
        names.update((row[0], row[1]) for row in rows)
    return names
