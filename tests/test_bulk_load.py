"""`store.bulk_load`: an import into an empty database puts off index and trigger upkeep until
the end, and ends with exactly the database that row-by-row upkeep gives."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from crmcli.operations import importing
from crmcli.operations.import_report import ImportOptions
from crmcli.store import Store, bulk_load, open_store, sealed

HEADERS = ["Name", "Phone", "Email", "Status", "Grade", "Source", "City", "Customer ID"]
ROWS: list[list[object]] = [
    ["Alice Wong", "13812345678", "alice@example.com", "lead", "A", "web", "Shanghai"],
    ["Bob Li", None, None, "customer", None, None, None],  # no contacts: an empty blob
    ["王伟", "13912345678", None, "prospect", "B", "referral", "北京"],
    # The same phone as Alice: adds her second e-mail (an update of a customer written in an
    # earlier chunk, while the deferred triggers are off).
    ["Alice Wong", "13812345678", "alice.w@example.com", "customer", "A", "web", "Shanghai"],
    ["Carol", "021-5555-1234", None, "lost", "C", "fair", "Shanghai"],
    ["Dan", "13712345678", "dan@example.com", "lead", None, "web", None, "C-1"],
    ["王伟", "13912345678", "wang@example.com", None, None, None, None],
    # Dan under another customer number: not the same customer for certain, but a likely
    # duplicate to the matcher (created, or folded into Dan with --on-duplicate update).
    ["Dan", "13712345678", "dan@example.com", "prospect", "B", "web", "Hangzhou", "C-2"],
]


def workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for row in ROWS:
        ws.append(row)
    wb.save(path)
    return path


def import_into(db: Path, book: Path, **options: object) -> None:
    with open_store(db, create=True) as store:
        store.command = "test"
        importing.import_file(store, book, ImportOptions(**options))  # type: ignore[arg-type]


def upkeep(store: Store) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in store.query(
            "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name"
        )
    ]


def contents(db: Path) -> dict[str, object]:
    """What the import left, minus what differs between two runs (timestamps, ciphertexts,
    keyed hashes): schema, counters, sealed state, and each customer's decrypted contacts."""
    with open_store(db) as store:
        vault = store.vault()
        ids = [r[0] for r in store.query("SELECT id FROM customers ORDER BY id")]
        blobs = dict(store.query("SELECT customer_id, contacts_enc FROM contacts_sealed"))
        opened = {}
        for cid, blob in blobs.items():
            if blob is not None:
                text = vault.decrypt(blob, context=sealed.associated_data(cid).decode())
                opened[cid] = sealed.unpack(text)
        return {
            "integrity": store.scalar("PRAGMA integrity_check"),
            "upkeep": upkeep(store),
            "stats": store.query(
                "SELECT status, grade, source, city, archived, n FROM stats_customers"
                " WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5"
            ),
            "customers": store.query(
                "SELECT id, name, status, grade, source, city FROM customers ORDER BY id"
            ),
            "sealed": sorted(blobs),
            "unsealed": sorted(c for c, b in blobs.items() if b is None),
            "blobs": opened,
            "rows": sealed.from_rows(store, ids, vault),
            "tail4": store.query("SELECT customer_id, tail4 FROM phones ORDER BY id"),
        }


@contextlib.contextmanager
def row_by_row(store: Store) -> Iterator[bool]:
    yield False


@pytest.mark.parametrize("on_duplicate", ["create", "update"])
def test_a_load_into_an_empty_database_ends_as_row_by_row_upkeep_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_duplicate: str
) -> None:
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)  # updates cross chunk boundaries
    book = workbook(tmp_path / "c.xlsx")
    import_into(tmp_path / "deferred.db", book, on_duplicate=on_duplicate)
    deferred = contents(tmp_path / "deferred.db")
    monkeypatch.setattr(bulk_load, "deferred_upkeep", row_by_row)
    import_into(tmp_path / "kept.db", book, on_duplicate=on_duplicate)
    kept = contents(tmp_path / "kept.db")

    assert deferred == kept
    assert deferred["integrity"] == "ok"  # every index holds exactly its table's rows
    names = {name for name, _ in deferred["upkeep"]}  # type: ignore[union-attr]
    assert set(bulk_load.DEFERRED_INDEXES + bulk_load.DEFERRED_TRIGGERS) <= names
    # Every customer has its row; those with contacts are sealed with exactly their rows.
    assert deferred["sealed"] == [c[0] for c in deferred["customers"]]  # type: ignore[union-attr]
    assert deferred["unsealed"] == []
    rows = deferred["rows"]
    assert deferred["blobs"] == {c: rows[c] for c in deferred["sealed"]}  # type: ignore[index,union-attr]
    # The second Dan is created, or folded into the first as a likely duplicate.
    live = 6 if on_duplicate == "create" else 5
    assert len(deferred["customers"]) == live  # type: ignore[arg-type]
    assert sum(r[-1] for r in deferred["stats"]) == live  # type: ignore[union-attr]


def test_the_triggers_work_again_after_the_load(tmp_path: Path) -> None:
    """The customers written after a deferred load are counted and given their sealed row by
    the restored triggers, as usual."""
    db = tmp_path / "crm.db"
    import_into(db, workbook(tmp_path / "c.xlsx"))
    with open_store(db) as store:
        store.command = "test"
        leads = store.scalar("SELECT SUM(n) FROM stats_customers WHERE status = 'lead'")
        rows = store.scalar("SELECT COUNT(*) FROM contacts_sealed")
        with store.write():
            store.conn.execute(
                "INSERT INTO customers (name, status, created_at, updated_at)"
                " VALUES ('Eve', 'lead', 'x', 'x')"
            )
        after = store.scalar("SELECT SUM(n) FROM stats_customers WHERE status = 'lead'")
        assert after == leads + 1
        assert store.scalar("SELECT COUNT(*) FROM contacts_sealed") == rows + 1


def test_a_load_that_fails_or_is_a_dry_run_leaves_the_schema_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    from crmcli.store import bulk

    book = workbook(tmp_path / "c.xlsx")
    with open_store(isolated, create=True) as store:
        before = upkeep(store)
    import_into(isolated, book, dry_run=True)
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)

    def dying(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(bulk, "insert_customers", dying)
    with pytest.raises(RuntimeError):
        import_into(isolated, book)
    with open_store(isolated) as store:
        assert upkeep(store) == before
        assert store.scalar("SELECT COUNT(*) FROM customers") == 0


def test_a_database_with_customers_keeps_its_upkeep(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    import_into(db, workbook(tmp_path / "c.xlsx"))
    with open_store(db) as store:
        before = upkeep(store)
        with store.write(), bulk_load.deferred_upkeep(store) as deferred:
            assert not deferred
            assert upkeep(store) == before
