"""The import's second process (`import_prepare`): rows prepared by a forked worker are imported
exactly as rows prepared in-process, the worker stops with the import (a bad row under
--strict, an error), and its errors reach the main process as the import's own."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import ok

from crmcli.errors import CrmError, InvalidInput
from crmcli.operations import import_prepare, importing
from crmcli.operations.import_report import ImportOptions
from crmcli.store import customers as customers_db
from crmcli.store import open_store

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BOOKS = ("客户信息登记表.xlsx", "customers-en.xlsx", "customers-en.csv")
STAMPS = ("created_at", "updated_at")


def run(db: Path, book: Path, **options: Any) -> dict:
    with open_store(db, create=True) as store:
        report = importing.import_file(store, book, ImportOptions(**options))
    out = report.as_dict()
    for name in ("backup", "rejects_file"):
        out.pop(name)
    return out


def example(tmp_path: Path, name: str) -> Path:
    book = tmp_path / name
    shutil.copy(EXAMPLES / name, book)
    return book


def assert_nothing_written(db: Path) -> None:
    assert multiprocessing.active_children() == []  # and no worker left behind
    with open_store(db) as store:
        assert customers_db.count_live(store) == 0


def state(db: Path) -> dict[str, Any]:
    """What the import wrote, as the user sees it (revealed contacts included) and as search
    and dedupe read it; keyed hashes differ between two databases' keys, so they are left out."""
    listing = json.loads(ok("search", "--db", str(db), "--reveal", "--format", "json"))
    for record in listing:
        for name in STAMPS:
            record.pop(name, None)
    tables = {
        "terms": "SELECT term, customer_id FROM search_terms ORDER BY 1, 2",
        "grams": "SELECT gram, customer_id FROM search_grams ORDER BY 1, 2",
        "fts": "SELECT rowid, body FROM search_fts ORDER BY 1",
        "keys": "SELECT key, customer_id FROM match_keys WHERE key NOT LIKE 't:%'"
        " AND key NOT LIKE 'e:%' ORDER BY 1, 2",
        "phones": "SELECT customer_id, position, masked, tail4 FROM phones ORDER BY 1, 2",
        "sealed": "SELECT customer_id, contacts_enc IS NULL FROM contacts_sealed ORDER BY 1",
    }
    with open_store(db) as store:
        found = {name: [tuple(r) for r in store.query(sql)] for name, sql in tables.items()}
    return {"listing": listing, **found}


@pytest.mark.parametrize("on_duplicate", ["create", "update", "review"])
def test_the_worker_imports_what_the_main_process_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_duplicate: str
) -> None:
    monkeypatch.setattr(importing, "CHUNK_ROWS", 3)  # many chunks in flight
    found = {}
    for parallel in (False, True):
        db = tmp_path / f"p{parallel}.db"
        reports = []
        for name in BOOKS:
            book = example(tmp_path, name)
            options = {"on_duplicate": on_duplicate, "parallel": parallel}
            if on_duplicate == "review":
                options["review_file"] = tmp_path / f"review-{parallel}.xlsx"
            reports.append(run(db, book, **options))
        for report in reports:
            report["duplicates"].pop("review_file")
            for sheet in report["sheets"]:
                sheet.get("duplicates", {}).pop("review_file", None)
        found[parallel] = (reports, state(db))
    reports, written = found[True]
    assert reports[0]["created"] > 10 and reports[1]["duplicates"]["likely"] > 0
    assert len(written["listing"]) > 10 and written["terms"] and written["keys"]
    assert any(r["rejected"] for r in reports)  # rejects come back from the worker too
    assert found[True] == found[False]


def test_strict_stops_the_worker_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    book = example(tmp_path, "客户信息登记表.xlsx")
    ok("init")
    with pytest.raises(InvalidInput, match="--strict"):
        run(isolated, book, strict=True, parallel=True)
    assert_nothing_written(isolated)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (InvalidInput("row 9: the file broke here"), InvalidInput),
        # An error pickle cannot carry still stops the import, as a CrmError.
        (type("Local", (Exception,), {})("odd"), CrmError),
    ],
)
def test_a_worker_error_is_the_imports_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    isolated: Path,
    error: Exception,
    expected: type[Exception],
) -> None:
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    real = import_prepare.prepare_chunk
    calls = {"n": 0}

    def breaking(*args: Any) -> list:
        calls["n"] += 1  # counted in the worker: the main process never prepares here
        if calls["n"] == 3:
            raise error
        return real(*args)

    monkeypatch.setattr(import_prepare, "prepare_chunk", breaking)
    ok("init")
    with pytest.raises(expected):
        run(isolated, example(tmp_path, "customers-en.xlsx"), parallel=True)
    assert calls["n"] == 0  # it all happened in the worker
    assert_nothing_written(isolated)


def test_small_sheets_stay_in_process() -> None:
    assert not import_prepare.worth_forking(3000, 1000)
    assert import_prepare.worth_forking(None, 1000) == import_prepare.worth_forking(10**6, 1000)


def test_a_worker_that_dies_stops_the_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    """Killed, out of memory: the main process notices, says so and writes nothing."""
    import os

    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    real = import_prepare.prepare_chunk
    calls = {"n": 0}

    def dying(*args: Any) -> list:
        calls["n"] += 1
        if calls["n"] == 3:
            os._exit(9)
        return real(*args)

    monkeypatch.setattr(import_prepare, "prepare_chunk", dying)
    ok("init")
    with pytest.raises(CrmError, match=r"stopped unexpectedly \(exit code 9\)"):
        run(isolated, example(tmp_path, "customers-en.xlsx"), parallel=True)
    assert_nothing_written(isolated)


def test_a_dry_run_plans_the_same_with_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    monkeypatch.setattr(importing, "CHUNK_ROWS", 3)
    book = example(tmp_path, "客户信息登记表.xlsx")
    plans = [run(isolated, book, dry_run=True, parallel=p) for p in (False, True)]
    assert plans[0] == plans[1] and plans[0]["created"] > 10
    assert_nothing_written(isolated)


def test_parallel_without_fork_prepares_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    monkeypatch.setattr(import_prepare, "_can_fork", lambda: False)  # as on Windows
    monkeypatch.setattr(importing, "CHUNK_ROWS", 3)
    calls = {"n": 0}
    real = import_prepare.prepare_chunk

    def counted(*args: Any) -> list:
        calls["n"] += 1
        return real(*args)

    monkeypatch.setattr(import_prepare, "prepare_chunk", counted)
    report = run(isolated, example(tmp_path, "customers-en.xlsx"), parallel=True)
    assert report["created"] > 0 and calls["n"] > 1  # counted here: no worker
    assert not import_prepare.worth_forking(None, 1000)
