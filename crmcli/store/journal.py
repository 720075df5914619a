"""The audit trail: who, when, which command, what changed. Append-only (triggers refuse
UPDATE and DELETE). Details hold before/after values with contact details masked; callers
must never pass plaintext phones, emails or key material.
"""

from __future__ import annotations

import json
import os
import sqlite3
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


def history(store: Store, customer_id: int | None, limit: int | None) -> list[sqlite3.Row]:
    sql = "SELECT id, at, os_user, command, action, customer_id, details FROM audit"
    params: list[Any] = []
    if customer_id is not None:
        sql += " WHERE customer_id = ?"
        params.append(customer_id)
    sql += " ORDER BY id DESC"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return store.query(sql, params)
