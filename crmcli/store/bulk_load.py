"""Loading many customers into an empty database: upkeep that nothing reads during the load is
done once at the end instead of row by row.

Kept current row by row, each new customer costs an entry in seven partial indexes on
`customers` (search, reports and merges read them), `phones_tail4` and `tags_tag` (search),
and two triggers: the stats counters' upsert and the `contacts_sealed` row. Replaying the
writes of a 100k import, that upkeep was ~5 of ~24 s of SQLite time; building the indexes once
at the end takes ~0.5 s.

`deferred_upkeep` drops exactly those indexes and triggers inside the caller's write
transaction when the database holds no customer at all, and at the end creates them again
from the SQL stored in `sqlite_master` (so they come back exactly as the migrations made
them) and does at once what the triggers would have done row by row:

- the stats counters are counted again from the customers, as migration m003 fills them;
- every customer gets its `contacts_sealed` row (`bulk.insert_customers` writes the rows of
  the customers it inserts itself, sealed or not, trigger or no trigger).

Nothing the load reads is deferred: the external_id, phone-hash and e-mail-hash indexes its
matching looks up, nor the per-customer indexes an update of an earlier row goes through.
DDL is transactional in SQLite: if the load fails, the rollback brings every index and trigger
back, and other connections never see the schema without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from crmcli.migrations import STATS_CUSTOMERS_FILL

if TYPE_CHECKING:
    from crmcli.store import Store

DEFERRED_INDEXES = (
    "customers_name",
    "customers_status",
    "customers_follow_up",
    "customers_silence",
    "customers_merged_into",
    "customers_silence_status",
    "customers_follow_up_archived",
    "phones_tail4",
    "tags_tag",
)
DEFERRED_TRIGGERS = ("stats_customers_insert", "contacts_sealed_customer_insert")


@contextmanager
def deferred_upkeep(store: Store) -> Iterator[bool]:
    """Inside a write transaction: defer the upkeep above while the block runs, when the
    database holds no customer yet. Yields whether it did. On an error the block's
    transaction must roll back (`Store.write` does), which restores the schema."""
    assert store.conn.in_transaction, "deferred_upkeep runs inside Store.write()"
    if store.scalar("SELECT EXISTS (SELECT 1 FROM customers)"):
        yield False
        return
    names = (*DEFERRED_INDEXES, *DEFERRED_TRIGGERS)
    marks = ",".join("?" * len(names))
    saved = store.query(
        f"SELECT type, name, sql FROM sqlite_master WHERE name IN ({marks}) ORDER BY name", names
    )
    for kind, name, _ in saved:
        store.conn.execute(f"DROP {kind.upper()} {name}")
    yield True
    for _, _, sql in saved:
        store.conn.execute(sql)
    store.conn.execute(
        "INSERT OR IGNORE INTO contacts_sealed (customer_id) SELECT id FROM customers"
    )
    store.conn.execute("DELETE FROM stats_customers")
    store.conn.execute(STATS_CUSTOMERS_FILL)
