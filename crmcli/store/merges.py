"""Merges and their undo: snapshots of the rows a merge touches, the merge journal, and the
pairs a person said are not duplicates.

A snapshot is every stored row of the customers involved, as it was: the customer rows (all
columns), their phone and e-mail rows (ciphertext kept as base64, never decrypted), their
tags, and the ids of their interactions. `restore` writes those rows back exactly; the search
index and match keys are derived and rebuilt. Callers hold the write transaction.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from crmcli.store import now_utc

if TYPE_CHECKING:
    from crmcli.store import Store

Snapshot = dict[str, Any]


def _marks(ids: Sequence[int]) -> str:
    return ",".join("?" * len(ids))


def _row(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    if isinstance(out.get("value_enc"), bytes | memoryview):
        out["value_enc"] = base64.b64encode(bytes(out["value_enc"])).decode("ascii")
    return out


def snapshot(store: Store, customer_ids: Sequence[int]) -> Snapshot:
    """Every stored row of these customers (in the given order), as JSON-safe data."""
    ids = list(customer_ids)
    marks = _marks(ids)
    by_id = {
        r["id"]: dict(r) for r in store.query(f"SELECT * FROM customers WHERE id IN ({marks})", ids)
    }
    interactions: dict[str, list[int]] = {str(i): [] for i in ids}
    for r in store.query(
        f"SELECT id, customer_id FROM interactions WHERE customer_id IN ({marks}) ORDER BY id", ids
    ):
        interactions[str(r[1])].append(r[0])
    return {
        "customers": [by_id[i] for i in ids if i in by_id],
        "phones": [
            _row(r)
            for r in store.query(
                f"SELECT * FROM phones WHERE customer_id IN ({marks}) ORDER BY id", ids
            )
        ],
        "emails": [
            _row(r)
            for r in store.query(
                f"SELECT * FROM emails WHERE customer_id IN ({marks}) ORDER BY id", ids
            )
        ],
        "tags": [
            [r[0], r[1]]
            for r in store.query(
                f"SELECT customer_id, tag FROM tags WHERE customer_id IN ({marks})"
                " ORDER BY customer_id, tag",
                ids,
            )
        ],
        "interactions": interactions,
    }


# -- merging ------------------------------------------------------------------------------


def absorb_contacts(store: Store, survivor: int, others: Sequence[int]) -> None:
    """Re-home the others' phones, e-mails and tags to the survivor, dropping exact repeats
    (the same number or address the survivor already has; the snapshot keeps them)."""
    have_phone = {
        r[0] or r[1]
        for r in store.query(
            "SELECT e164_hash, tail8_hash FROM phones WHERE customer_id = ?", (survivor,)
        )
    }
    have_email = {
        r[0] for r in store.query("SELECT hash FROM emails WHERE customer_id = ?", (survivor,))
    }
    for table, have in (("phones", have_phone), ("emails", have_email)):
        position = store.scalar(
            f"SELECT COALESCE(MAX(position) + 1, 0) FROM {table} WHERE customer_id = ?",
            (survivor,),
        )
        marks = _marks(others)
        identity = "COALESCE(e164_hash, tail8_hash)" if table == "phones" else "hash"
        rows = store.query(
            f"SELECT id, {identity} FROM {table} WHERE customer_id IN ({marks})"
            " ORDER BY customer_id, position",
            list(others),
        )
        for row_id, ident in rows:
            if ident in have:
                store.conn.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
                continue
            have.add(ident)
            store.conn.execute(
                f"UPDATE {table} SET customer_id = ?, position = ? WHERE id = ?",
                (survivor, position, row_id),
            )
            position += 1
    marks = _marks(others)
    store.conn.execute(
        f"INSERT OR IGNORE INTO tags (customer_id, tag) SELECT ?, tag FROM tags"
        f" WHERE customer_id IN ({marks})",
        [survivor, *others],
    )
    store.conn.execute(f"DELETE FROM tags WHERE customer_id IN ({marks})", list(others))


def mark_merged(store: Store, survivor: int, others: Sequence[int]) -> None:
    marks = _marks(others)
    store.conn.execute(
        f"UPDATE customers SET merged_into = ?, updated_at = ? WHERE id IN ({marks})",
        [survivor, now_utc(), *others],
    )
    # Older tombstones that point at a merged-away customer are left alone: survivor_of follows
    # the chain, and undoing this merge must not have to find and re-point them.


# -- restoring ----------------------------------------------------------------------------


def restore(store: Store, snap: Snapshot, *, survivor_tags: Iterable[str] = ()) -> None:
    """Write a snapshot's rows back exactly. Rows added since (an interaction logged, a phone
    added to the survivor) are not in the snapshot and stay where they are. `survivor_tags`
    are tags added to the survivor after the merge, kept on it."""
    customers = snap["customers"]
    ids = [c["id"] for c in customers]
    marks = _marks(ids)
    for customer_id, interaction_ids in snap["interactions"].items():
        for start in range(0, len(interaction_ids), 900):
            chunk = interaction_ids[start : start + 900]
            store.conn.execute(
                f"UPDATE interactions SET customer_id = ? WHERE id IN ({_marks(chunk)})",
                [int(customer_id), *chunk],
            )
    for table in ("phones", "emails"):
        rows = snap[table]
        if rows:
            row_ids = [r["id"] for r in rows]
            store.conn.execute(f"DELETE FROM {table} WHERE id IN ({_marks(row_ids)})", row_ids)
            columns = list(rows[0])
            store.conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_marks(columns)})",
                [
                    [base64.b64decode(r[c]) if c == "value_enc" else r[c] for c in columns]
                    for r in rows
                ],
            )
    store.conn.execute(f"DELETE FROM tags WHERE customer_id IN ({marks})", ids)
    tags = [tuple(t) for t in snap["tags"]]
    tags += [(ids[0], t) for t in survivor_tags]
    store.conn.executemany("INSERT OR IGNORE INTO tags (customer_id, tag) VALUES (?, ?)", tags)
    for row in customers:
        columns = [c for c in row if c != "id"]
        assignments = ", ".join(f"{c} = ?" for c in columns)
        store.conn.execute(
            f"UPDATE customers SET {assignments} WHERE id = ?",
            [*(row[c] for c in columns), row["id"]],
        )


def refresh_last_contact_quietly(store: Store, customer_id: int) -> None:
    """Recompute the derived last-contact fields without touching updated_at."""
    store.conn.execute(
        """UPDATE customers SET
             last_contacted_at = (SELECT MAX(at) FROM interactions WHERE customer_id = ?1),
             last_channel = (SELECT channel FROM interactions WHERE customer_id = ?1
                             ORDER BY at DESC, id DESC LIMIT 1)
           WHERE id = ?1""",
        (customer_id,),
    )


# -- the journal --------------------------------------------------------------------------


def insert_merge(
    store: Store,
    survivor: int,
    merged: Sequence[int],
    reasons: Sequence[str],
    snap: Snapshot,
    survivor_after: Snapshot,
) -> int:
    cursor = store.conn.execute(
        "INSERT INTO merges (at, survivor_id, merged_ids, reasons, snapshot, survivor_after)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            now_utc(),
            survivor,
            json.dumps(list(merged)),
            json.dumps(list(reasons), ensure_ascii=False),
            json.dumps(snap, ensure_ascii=False),
            json.dumps(survivor_after, ensure_ascii=False),
        ),
    )
    return int(cursor.lastrowid or 0)


def fetch_merge(store: Store, merge_id: int) -> dict[str, Any] | None:
    rows = store.query("SELECT * FROM merges WHERE id = ?", (merge_id,))
    if not rows:
        return None
    out = dict(rows[0])
    for key in ("merged_ids", "reasons", "snapshot", "survivor_after"):
        out[key] = json.loads(out[key]) if out[key] else []
    return out


def later_merges(store: Store, merge_id: int, customer_ids: Iterable[int]) -> list[int]:
    """Merges after `merge_id`, not undone, that involve any of these customers."""
    wanted = set(customer_ids)
    out = []
    for row in store.query(
        "SELECT id, survivor_id, merged_ids FROM merges WHERE id > ? AND undone_at IS NULL",
        (merge_id,),
    ):
        if wanted & {row[1], *json.loads(row[2])}:
            out.append(row[0])
    return out


def mark_undone(store: Store, merge_id: int) -> None:
    store.conn.execute("UPDATE merges SET undone_at = ? WHERE id = ?", (now_utc(), merge_id))


def list_merges(store: Store, limit: int | None = None) -> list[sqlite3.Row]:
    sql = (
        "SELECT m.id, m.at, m.survivor_id, c.name AS survivor_name, m.merged_ids, m.reasons,"
        " m.undone_at FROM merges m LEFT JOIN customers c ON c.id = m.survivor_id"
        " ORDER BY m.id DESC"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    return store.query(sql)


def names_of(store: Store, customer_ids: Sequence[int]) -> dict[int, str]:
    ids = list(customer_ids)
    if not ids:
        return {}
    return {
        r[0]: r[1]
        for r in store.query(f"SELECT id, name FROM customers WHERE id IN ({_marks(ids)})", ids)
    }


def interaction_counts(store: Store, customer_ids: Sequence[int]) -> dict[int, int]:
    ids = list(customer_ids)
    counts = dict.fromkeys(ids, 0)
    for r in store.query(
        f"SELECT customer_id, COUNT(*) FROM interactions WHERE customer_id IN ({_marks(ids)})"
        " GROUP BY customer_id",
        ids,
    ):
        counts[r[0]] = r[1]
    return counts


# -- "not duplicates" ---------------------------------------------------------------------


def add_not_duplicates(store: Store, pairs: Iterable[tuple[int, int]]) -> int:
    stamp = now_utc()
    rows = {(min(a, b), max(a, b)) for a, b in pairs if a != b}
    store.conn.executemany(
        "INSERT OR IGNORE INTO not_duplicates (a_id, b_id, decided_at) VALUES (?, ?, ?)",
        [(a, b, stamp) for a, b in sorted(rows)],
    )
    return len(rows)


def not_duplicate_pairs(store: Store) -> list[tuple[int, int]]:
    return [(r[0], r[1]) for r in store.query("SELECT a_id, b_id FROM not_duplicates")]
