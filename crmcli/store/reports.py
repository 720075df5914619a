"""Read-only queries behind the lists that answer "who needs attention" (follow-ups, stale) and
the overview (`stats`), plus the small state the `--new-only` stale report keeps.

The stale report is a range scan of the `customers_silence` index: `SILENCE` below is, letter for
letter, the expression that index holds (migrations.py), and the query names the index with
`INDEXED BY`, so if the two ever drift apart the query fails loudly in the tests instead of
quietly turning into a full scan and a sort. Counts with the usual filters (status, archived) use
`customers_silence_status`, the same expression followed by those two columns, and never visit a
row; `stats` reads counters kept by triggers (migration m003). Everything here reads masked
contact details only: no report needs the key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crmcli.store import now_utc

if TYPE_CHECKING:
    from crmcli.store import Store
    from crmcli.store.search import Filters

# The customers_silence index expression (migrations.py): last interaction, else first contact,
# else creation. Unqualified column names match the index whatever alias the query uses.
SILENCE = "COALESCE(last_contacted_at, first_contact_on, created_at)"
_SILENCE_C = "COALESCE(c.last_contacted_at, c.first_contact_on, c.created_at)"

# The stale report's columns, in output order (operations/reports.py names them for people).
STALE_COLUMNS = (
    "id",
    "external_id",
    "name",
    "company",
    "phones",
    "status",
    "grade",
    "source",
    "city",
    "tags",
    "days_silent",
    "silent_since",
    "last_contacted_at",
    "last_channel",
    "first_contact_on",
    "next_follow_up_on",
    "archived_at",
)


# SQLite's default build caps memory maps at just under 2 GiB; asking for more gets that cap.
_MMAP_BYTES = 2_147_418_112


def map_for_long_reads(store: Store) -> None:
    """Read through a memory map for the rest of this connection.

    A report visits customer rows in silence order, which is random in the file: through the
    default 2 MB page cache that is one read() system call per page. Mapped, the same query took
    5.2 s of CPU instead of 8.4 s at a million customers in the sqlite3 shell (benchmarks/).
    """
    store.conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")


def followup_ids(store: Store, horizon: str) -> list[int]:
    """Live customers whose next follow-up falls on or before `horizon` (ISO date)."""
    rows = store.query(
        "SELECT id FROM customers WHERE next_follow_up_on IS NOT NULL AND next_follow_up_on <= ?"
        " AND merged_into IS NULL AND archived_at IS NULL"
        " ORDER BY next_follow_up_on, name_key, id",
        (horizon,),
    )
    return [r[0] for r in rows]


def due_ids(store: Store, horizon: str, limit: int) -> list[int]:
    """The first `limit` of `followup_ids(horizon)`."""
    rows = store.query(
        "SELECT id FROM customers WHERE next_follow_up_on IS NOT NULL AND next_follow_up_on <= ?"
        " AND merged_into IS NULL AND archived_at IS NULL"
        " ORDER BY next_follow_up_on, name_key, id LIMIT ?",
        (horizon, limit),
    )
    return [r[0] for r in rows]


def planned_followup_ids(store: Store, horizon: str | None) -> list[int]:
    """Every live customer with a planned follow-up (up to `horizon` when given), by date."""
    return followup_ids(store, horizon or "9999-12-31")


# -- stale ------------------------------------------------------------------------------


def _stale_where(cutoff: str, filters: Filters) -> tuple[str, list[Any]]:
    where, params = filters.sql("c")
    return f"{_SILENCE_C} < ? AND {where}", [cutoff, *params]


def stale_rows(
    store: Store,
    cutoff: str,
    today: str,
    filters: Filters,
    *,
    list_separator: str,
    limit: int | None = None,
    only_new: bool = False,
) -> Iterator[tuple[Any, ...]]:
    """Customers silent since before `cutoff` (ISO date), longest silent first, as tuples in
    `STALE_COLUMNS` order; phones (masked) and tags joined by `list_separator`.

    `only_new` keeps the customers `refresh_report_state` just found new (same connection).
    The statement is started before this returns, so a busy or damaged database raises here,
    before the caller has printed anything; the rows then stream from one snapshot.
    """
    where, params = _stale_where(cutoff, filters)
    # --new-only starts from the few newcomers (then sorts them) instead of walking the whole
    # stale range of the index to pick them out.
    source = (
        "temp.report_new n CROSS JOIN customers c ON c.id = n.customer_id"
        if only_new
        else "customers c INDEXED BY customers_silence"
    )
    map_for_long_reads(store)
    sql = (
        "SELECT c.id, c.external_id, c.name, c.company,"
        " (SELECT group_concat(masked, ?) FROM"
        "   (SELECT masked FROM phones p WHERE p.customer_id = c.id ORDER BY p.position)),"
        " c.status, c.grade, c.source, c.city,"
        " (SELECT group_concat(tag, ?) FROM tags t WHERE t.customer_id = c.id),"
        f" CAST(julianday(?) - julianday(substr({_SILENCE_C}, 1, 10)) AS INTEGER),"
        # silent_since as a date: the expression mixes dates (first contact) and UTC times.
        f" substr({_SILENCE_C}, 1, 10), c.last_contacted_at, c.last_channel, c.first_contact_on,"
        " c.next_follow_up_on, c.archived_at"
        f" FROM {source} WHERE {where} ORDER BY {_SILENCE_C}, c.id"
    )
    all_params: list[Any] = [list_separator, list_separator, today, *params]
    if limit is not None:
        sql += " LIMIT ?"
        all_params.append(limit)
    cursor = store.conn.cursor()
    cursor.row_factory = None  # plain tuples: this can be a million rows
    try:
        cursor.execute(sql, all_params)
    except sqlite3.Error as exc:
        from crmcli.store import translate_error

        raise translate_error(exc, store.path) from None
    return _stream(store, cursor)


def _stream(store: Store, cursor: sqlite3.Cursor) -> Iterator[tuple[Any, ...]]:
    from crmcli.store import translate_error

    try:
        while True:
            batch = cursor.fetchmany(2000)
            if not batch:
                return
            yield from batch
    except sqlite3.Error as exc:
        raise translate_error(exc, store.path) from None
    finally:
        cursor.close()


def refresh_report_state(store: Store, report: str, cutoff: str, filters: Filters) -> int:
    """Record the current stale set as report `report`'s state; return how many are new.

    The caller holds the write transaction. The ids that were not in the previous state are left
    in `temp.report_new` (a per-connection temporary table) for `stale_rows(only_new=True)`.
    Only the difference is written, so a nightly run rewrites a handful of rows, not all.
    """
    conn = store.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS report_now (customer_id INTEGER PRIMARY KEY)")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS report_new (customer_id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp.report_now")
    conn.execute("DELETE FROM temp.report_new")
    where, params = _stale_where(cutoff, filters)
    conn.execute(
        "INSERT INTO temp.report_now (customer_id)"
        f" SELECT c.id FROM customers c INDEXED BY customers_silence_status WHERE {where}",
        params,
    )
    conn.execute(
        "INSERT INTO temp.report_new (customer_id) SELECT n.customer_id FROM temp.report_now n"
        " WHERE NOT EXISTS (SELECT 1 FROM report_state s"
        "                   WHERE s.report = ? AND s.customer_id = n.customer_id)",
        (report,),
    )
    conn.execute(
        "DELETE FROM report_state WHERE report = ?"
        " AND customer_id NOT IN (SELECT customer_id FROM temp.report_now)",
        (report,),
    )
    cursor = conn.execute(
        "INSERT INTO report_state (report, customer_id) SELECT ?, customer_id FROM temp.report_new",
        (report,),
    )
    return cursor.rowcount


def forget_new(store: Store, report: str) -> None:
    """Take this run's newcomers (`temp.report_new`) out of the report's state again, so the
    next run lists them (their report never reached anyone). The caller holds the write lock."""
    store.conn.execute(
        "DELETE FROM report_state WHERE report = ?"
        " AND customer_id IN (SELECT customer_id FROM temp.report_new)",
        (report,),
    )


def report_state_ids(store: Store, report: str) -> list[int]:
    rows = store.query(
        "SELECT customer_id FROM report_state WHERE report = ? ORDER BY customer_id", (report,)
    )
    return [r[0] for r in rows]


def archive_still_stale(store: Store, customer_ids: Sequence[int], cutoff: str) -> list[int]:
    """Archive those of `customer_ids` that are still live, unarchived and silent since before
    `cutoff` (someone may have logged a call since the report was printed); returns their ids.
    The caller holds the write transaction."""
    stamp = now_utc()
    done: list[int] = []
    ids = list(customer_ids)
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        rows = store.conn.execute(
            f"UPDATE customers SET archived_at = ?, updated_at = ? WHERE id IN ({marks})"
            f" AND archived_at IS NULL AND merged_into IS NULL AND {SILENCE} < ? RETURNING id",
            [stamp, stamp, *chunk, cutoff],
        ).fetchall()
        done.extend(r[0] for r in rows)
    return sorted(done)


# -- the overview (stats) ---------------------------------------------------------------


# The counters below are kept by triggers (migration m003_stats_counters), '' standing for NULL.


def profile_counts(store: Store, include_archived: bool) -> list[tuple[Any, ...]]:
    """(status, grade, source, city, count) for every combination present among live customers."""
    archived = "" if include_archived else " AND archived = 0"
    rows = store.conn.execute(
        "SELECT status, NULLIF(grade, ''), NULLIF(source, ''), NULLIF(city, ''), SUM(n)"
        f" FROM stats_customers WHERE n > 0{archived} GROUP BY status, grade, source, city"
    ).fetchall()
    return [tuple(r) for r in rows]


def archived_count(store: Store) -> int:
    return int(store.scalar("SELECT COALESCE(SUM(n), 0) FROM stats_customers WHERE archived = 1"))


def interactions_per_day(store: Store, since: str) -> list[tuple[str, int]]:
    """Interactions per UTC day from `since` (ISO date) on."""
    rows = store.conn.execute(
        "SELECT day, n FROM stats_activity WHERE day >= ? AND n > 0 ORDER BY day", (since,)
    ).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def followup_counts(store: Store, today: str, until: str) -> tuple[int, int, int]:
    """Live follow-ups (overdue, due today, due after today up to `until`)."""
    row = store.conn.execute(
        "SELECT COALESCE(SUM(next_follow_up_on < ?1), 0), COALESCE(SUM(next_follow_up_on = ?1), 0),"
        " COALESCE(SUM(next_follow_up_on > ?1), 0) FROM customers"
        " INDEXED BY customers_follow_up_archived"
        " WHERE next_follow_up_on IS NOT NULL AND next_follow_up_on <= ?2"
        " AND merged_into IS NULL AND archived_at IS NULL",
        (today, until),
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def silent_between(
    store: Store, low: str, high: str, filters: Filters, limit: int | None
) -> tuple[int, list[tuple[Any, ...]]]:
    """Customers whose silence began in [low, high): (how many, the first `limit` of them as
    (id, name, company, silent_since, last_channel)), longest silent first."""
    where, params = filters.sql("c")
    where = f"{_SILENCE_C} >= ? AND {_SILENCE_C} < ? AND {where}"
    head = f"FROM customers c INDEXED BY customers_silence_status WHERE {where}"
    count = int(store.scalar(f"SELECT COUNT(*) {head}", [low, high, *params]))
    rows: list[tuple[Any, ...]] = []
    if limit:
        rows = [
            tuple(r)
            for r in store.conn.execute(
                f"SELECT c.id, c.name, c.company, {_SILENCE_C}, c.last_channel {head}"
                f" ORDER BY {_SILENCE_C}, c.id LIMIT ?",
                [low, high, *params, limit],
            ).fetchall()
        ]
    return count, rows


def silent_before_count(store: Store, cutoff: str, filters: Filters) -> int:
    where, params = _stale_where(cutoff, filters)
    return int(
        store.scalar(
            f"SELECT COUNT(*) FROM customers c INDEXED BY customers_silence_status WHERE {where}",
            params,
        )
    )
