"""Build a benchmark database from generated customers, through crmcli's own store code.

    python benchmarks/load_db.py --customers 100000 --db /tmp/crm100k.db [--seed 1]

Every row goes through the same normalisation (`models.build_draft`), encryption and search
indexing as `crmcli add` (`store.customers.insert`), so the database is exactly what users
get; interactions are inserted in bulk and the derived last-contact fields refreshed once.
The key is written to a key file beside the database (`<db>.key`); pass it to crmcli with
CRMCLI_KEY_FILE.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

BATCH = 5_000


def build(db: Path, customers: int, seed: int = 1) -> dict[str, float]:
    os.environ["CRMCLI_KEY_FILE"] = str(db.with_suffix(".key"))
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    from crmcli.errors import InvalidInput
    from crmcli.models import build_draft
    from crmcli.store import customers as customers_db
    from crmcli.store import open_store

    for suffix in ("", "-wal", "-shm", ".key"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.with_suffix(".key").unlink(missing_ok=True)
    store = open_store(db, create=True)
    store.create_key()
    vault = store.vault()
    started = time.perf_counter()
    loaded = rejected = interactions = 0
    batch: list[tuple[int, dict]] = []

    def flush() -> None:
        nonlocal interactions
        rows = [
            (cid, i["at"], i["channel"], i["summary"], i.get("outcome"), i.get("next_follow_up_on"))
            for cid, rec in batch
            for i in rec["interactions"]
        ]
        store.conn.executemany(
            "INSERT INTO interactions (customer_id, at, channel, summary, outcome,"
            " next_follow_up_on, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(*r, r[1]) for r in rows],
        )
        interactions += len(rows)
        batch.clear()

    fields = (
        "external_id", "kind", "name", "company", "phones", "emails", "status", "grade",
        "source", "industry", "city", "gender", "budget", "needs", "tags", "notes",
        "first_contact_on", "next_follow_up_on",
    )  # fmt: skip
    with store.write():
        for record in generate(customers, seed=seed):
            try:
                draft = build_draft(
                    {k: record[k] for k in fields if record.get(k) not in (None, [])}
                )
            except InvalidInput:
                rejected += 1
                continue
            values = draft.fields()
            values.setdefault("kind", "person")
            values["kind"] = values["kind"] or "person"
            values["status"] = values.get("status") or "lead"
            if values.get("external_id") and customers_db.owner_of_external_id(
                store, values["external_id"]
            ):
                values["external_id"] = None
            last = max((i["at"] for i in record["interactions"]), default=None)
            values["last_contacted_at"] = last
            cid = customers_db.insert(
                store,
                values,
                phones=draft.phones,
                emails=draft.emails,
                tags=draft.tags,
                vault=vault,
            )
            batch.append((cid, record))
            loaded += 1
            if len(batch) >= BATCH:
                flush()
                print(f"  {loaded:,} customers…", file=sys.stderr, end="\r")
        flush()
        store.conn.execute(
            """UPDATE customers SET last_channel = (
                 SELECT channel FROM interactions i WHERE i.customer_id = customers.id
                 ORDER BY at DESC, id DESC LIMIT 1)"""
        )
    store.conn.execute("PRAGMA optimize")
    store.close()
    seconds = time.perf_counter() - started
    return {
        "customers": loaded,
        "rejected": rejected,
        "interactions": interactions,
        "seconds": round(seconds, 1),
        "rows_per_s": round(loaded / seconds),
        "db_mb": round(db.stat().st_size / 1024 / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(build(args.db, args.customers, args.seed))


if __name__ == "__main__":
    main()
