"""`crmcli import --on-duplicate create|update|skip|review`: rows that match no customer exactly
but look like one (the matcher of `add` and `dedupe`), against the database and earlier rows of
the same file; colleagues sharing an office line are not duplicates; --dry-run decides the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from cli_helpers import crm, ok
from typer.testing import CliRunner

from crmcli.cli import load
from crmcli.operations import importing

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CHINESE = "客户信息登记表.xlsx"
ENGLISH = "customers-en.xlsx"
runner = CliRunner()
app = load()


def imported(*args: str) -> dict:
    return json.loads(ok("import", *args, "--format", "json"))


def listing() -> list[dict]:
    return json.loads(ok("search", "--format", "json"))


def numbers() -> set[str | None]:
    return {r["external_id"] for r in listing()}


def copy_example(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copy(EXAMPLES / name, target)
    return target


def pairs(summary: dict) -> dict[int, dict]:
    """The reported pairs by row number."""
    return {p["row"]: p for p in summary["duplicates"]["pairs"]}


@pytest.fixture
def twins() -> dict[str, int]:
    """A database holding one of each twin of the example workbooks (by customer number, so the
    other twin matches nothing exactly: it is the matcher's to judge)."""
    ok("init")
    ok(
        "add",
        "张伟",
        "--company",
        "深圳某某科技有限公司",
        "-p",
        "13812345678",
        "--external-id",
        "KH0001",
    )
    ok(
        "add",
        "深圳某某科技有限公司",
        "--kind",
        "company",
        "-p",
        "0755-86001234",
        "-e",
        "info@moumou-tech.example.com",
        "--external-id",
        "KH0006",
    )
    ok("add", "Robert Smith", "--company", "Acme Inc.", "-p", "(415) 555-0134")
    return {"张伟": 1, "深圳某某科技有限公司": 2, "Robert Smith": 3}


# The likely twins in the Chinese workbook: row -> (name, the customer it resembles). 李娜
# (row 29, KH0025) resembles an earlier row of the same file (KH0002, row 5).
ZH_LIKELY = {10: ("某某公司", "深圳某某科技有限公司"), 11: ("張偉", "张伟"), 29: ("李娜", "李娜")}


def _check_zh_pairs(summary: dict, twins: dict[str, int], decision: str) -> dict[int, dict]:
    found = pairs(summary)
    assert {row: (p["name"], p["matches_name"]) for row, p in found.items()} == ZH_LIKELY
    assert all(p["band"] == "likely" and p["decision"] == decision for p in found.values())
    assert found[11]["matches"] == twins["张伟"]
    assert found[10]["matches"] == twins["深圳某某科技有限公司"]
    assert "mobile identical (+7)" in found[11]["reasons"]
    assert "name same pinyin (+3.5)" in found[11]["reasons"]
    duplicates = summary["duplicates"]
    assert duplicates["likely"] == 3 and duplicates[f"likely_{decision}"] == 3
    assert duplicates == summary["sheets"][0]["duplicates"]
    return found


def test_create_is_the_default_and_reports_the_twins(tmp_path: Path, twins: dict) -> None:
    book = copy_example(tmp_path, CHINESE)
    code, _out, err = crm("import", str(book))
    assert code == 0, err
    assert "3 row(s) look like existing customers (likely duplicates): 3 created" in err
    assert "run `crmcli dedupe`" in err
    assert "row 11 張偉 ~ #1 张伟 (likely, score" in err and "mobile identical (+7)" in err
    summary = imported(str(book), "--dry-run")  # again: every row now matches exactly
    assert summary["duplicates"]["likely"] == 0 and summary["created"] == 0

    ok("init")
    fresh = tmp_path / "fresh.db"
    summary = imported(str(book), "--db", str(fresh))
    assert summary["duplicates"]["on_duplicate"] == "create"
    assert {row for row, p in pairs(summary).items() if p["band"] == "likely"} == {10, 11, 29}


def test_each_on_duplicate_value_on_the_chinese_workbook(tmp_path: Path, twins: dict) -> None:
    book = copy_example(tmp_path, CHINESE)
    backup = tmp_path / "twins.db"
    shutil.copy(tmp_path / "crm.db", backup)
    results = {}
    for value in ("create", "update", "skip", "review"):
        shutil.copy(backup, tmp_path / "crm.db")
        summary = imported(str(book), "--on-duplicate", value)
        results[value] = (summary, numbers(), len(listing()))
        decision = {"create": "created", "update": "updated", "skip": "skipped"}.get(value, value)
        found = _check_zh_pairs(summary, twins, decision)
        if value == "update":
            assert (
                found[11]["id"] == twins["张伟"]
                and found[10]["id"] == twins["深圳某某科技有限公司"]
            )
        if value == "skip":
            assert summary["duplicates"]["skipped_rows"] == [10, 11, 29]
            assert all(p["id"] is None for p in found.values())
        if value in ("create", "review"):
            assert all(p["id"] not in twins.values() for p in found.values())

    created, after_create, count_create = results["create"]
    assert {"KH0007", "KH0008", "KH0025"} <= after_create
    # update: the three rows fill their twins instead of becoming customers.
    updated, after_update, count_update = results["update"]
    assert count_update == count_create - 3
    assert updated["created"] == created["created"] - 3
    assert not {"KH0007", "KH0008", "KH0025"} & after_update
    zhang = json.loads(ok("show", "1", "--format", "json"))
    assert zhang["name"] == "张伟" and zhang["city"] == "深圳"  # blanks filled, name kept
    # skip: counted as skipped, not imported.
    skipped, after_skip, count_skip = results["skip"]
    assert skipped["skipped"] == created["skipped"] + 3 and count_skip == count_create - 3
    assert after_skip == after_update
    # review: created like `create`, plus a workbook `dedupe --apply` merges.
    reviewed, after_review, count_review = results["review"]
    assert count_review == count_create and after_review == after_create
    assert reviewed["duplicates"]["review_file"] == str(tmp_path / "客户信息登记表.duplicates.xlsx")


def test_review_workbook_feeds_dedupe_apply(tmp_path: Path, twins: dict) -> None:
    book = copy_example(tmp_path, CHINESE)
    review = tmp_path / "check.xlsx"
    code, _, err = crm(
        "import", str(book), "--on-duplicate", "review", "--review-file", str(review)
    )
    assert code == 0, err
    assert f"run `crmcli dedupe --apply {review}`" in err
    rows = list(openpyxl.load_workbook(review)["Duplicates"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    col = {name: header.index(name) for name in ("group", "decision", "id", "name", "reasons")}
    by_id = {r[col["id"]]: r for r in body}
    assert len(body) == 6 and len({r[col["group"]] for r in body}) == 3
    assert by_id[twins["张伟"]][col["decision"]] == "keep"  # the customer already there stays
    zhang_twin = next(r for r in body if r[col["name"]] == "張偉")
    assert (
        zhang_twin[col["decision"]] == "merge" and "mobile identical" in zhang_twin[col["reasons"]]
    )
    before = len(listing())
    code, _, err = crm("dedupe", "--apply", str(review), "--yes")
    assert code == 0, err
    assert len(listing()) == before - 3
    assert "KH0008" not in numbers()  # merged into #1 (its number stays with the tombstone)


def test_english_workbook_robert_and_bob_smith(tmp_path: Path, twins: dict) -> None:
    book = copy_example(tmp_path, ENGLISH)
    backup = tmp_path / "twins.db"
    shutil.copy(tmp_path / "crm.db", backup)
    summary = imported(str(book))
    found = {p["name"]: p for p in summary["duplicates"]["pairs"]}
    bob = found["Bob Smith"]
    assert (bob["matches"], bob["matches_name"], bob["band"]) == (3, "Robert Smith", "likely")
    assert "name nickname bob = robert (+3)" in bob["reasons"]
    assert found["Robert Smith"]["matches"] == 3  # C-1017, the third copy
    assert found["Wei Zhang"]["matches"] == twins["张伟"]
    assert "C-1002" in numbers()

    for value, kept in (("update", False), ("skip", False), ("review", True)):
        shutil.copy(backup, tmp_path / "crm.db")
        summary = imported(str(book), "--on-duplicate", value)
        bob = next(p for p in summary["duplicates"]["pairs"] if p["name"] == "Bob Smith")
        assert bob["matches"] == 3
        assert ("C-1002" in numbers()) is kept
    shutil.copy(backup, tmp_path / "crm.db")
    imported(str(book), "--on-duplicate", "update")
    robert = json.loads(ok("show", "3", "--format", "json"))
    assert robert["name"] == "Robert Smith" and robert["external_id"] == "C-1001"
    assert len(robert["emails"]) == 2  # robert.smith@ (C-1001) and bob@ (C-1002)


def test_colleagues_sharing_an_office_line_are_not_duplicates(tmp_path: Path) -> None:
    ok("init")
    ok("add", "李明", "--company", "深圳某某科技有限公司", "-p", "0755-86001234")
    book = tmp_path / "office.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "公司", "电话"])
    ws.append(["王芳", "深圳某某科技有限公司", "0755-86001234"])
    ws.append(["赵磊", "深圳某某科技有限公司", "(0755) 8600 1234"])
    wb.save(book)
    summary = imported(str(book), "--on-duplicate", "update")
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (2, 0, 0)
    assert summary["duplicates"]["likely"] == 0 and summary["duplicates"]["possible"] == 0
    assert sorted(r["name"] for r in listing()) == ["李明", "王芳", "赵磊"]
    # The same person on the office line is still the same person.
    ws.append(["李明", "深圳某某科技有限公司", "0755-86001234"])
    wb.save(book)
    again = imported(str(book), "--on-duplicate", "update")
    assert (again["created"], again["unchanged"]) == (0, 3)


@pytest.mark.parametrize("value", ["create", "update", "skip", "review"])
def test_dry_run_reports_the_same_decisions_and_writes_nothing(
    tmp_path: Path, twins: dict, value: str
) -> None:
    book = copy_example(tmp_path, CHINESE)
    before = listing()
    dry = imported(str(book), "--on-duplicate", value, "--dry-run")
    assert listing() == before
    assert not (tmp_path / "客户信息登记表.duplicates.xlsx").exists()
    assert not (tmp_path / "客户信息登记表.rejects.xlsx").exists()
    code, _, err = crm("import", str(book), "--on-duplicate", value, "--dry-run")
    assert code == 0 and "nothing was written" in err and "look like existing customers" in err
    real = imported(str(book), "--on-duplicate", value)
    for key in ("created", "updated", "unchanged", "skipped", "rejected"):
        assert dry[key] == real[key], key
    dry_dups, real_dups = dry["duplicates"], real["duplicates"]
    assert dry_dups["review_file"] is None
    if value == "review":
        assert real_dups["review_file"]
    real_dups["review_file"] = None
    assert dry_dups == real_dups


def test_later_rows_see_earlier_rows_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """李娜 KH0025 (row 29) resembles KH0002 (row 5), written in an earlier chunk: bulk inserts
    key their customers, so the matcher and later commands find them."""
    book = copy_example(tmp_path, CHINESE)
    found = {}
    for size in (1000, 5):
        monkeypatch.setattr(importing, "CHUNK_ROWS", size)
        summary = imported(str(book), "--db", str(tmp_path / f"c{size}.db"))
        found[size] = {r: (p["matches"], p["decision"]) for r, p in pairs(summary).items()}
    assert found[5] == found[1000]
    assert set(found[5]) == {10, 11, 29}
    code, _, err = crm("add", "Zhang Wei", "-p", "13812345678", "--db", str(tmp_path / "c5.db"))
    assert code == 0 and "looks like #1 张伟" in err  # the imported customers have match keys


@pytest.mark.parametrize("value", ["create", "update", "review"])
def test_memory_cap_and_chunks_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """The matcher holds the import's own customers in memory up to `memory_records`, then
    lets the database answer for them: every way of cutting the file decides the same, on an
    empty database and on one that already holds customers."""
    from crmcli.operations import import_duplicates

    chinese, english = copy_example(tmp_path, CHINESE), copy_example(tmp_path, ENGLISH)
    found = []
    for chunk, cap in ((1000, 100_000), (5, 100_000), (5, 3), (2, 1)):
        monkeypatch.setattr(importing, "CHUNK_ROWS", chunk)
        monkeypatch.setattr(import_duplicates, "MEMORY_RECORDS", cap)
        monkeypatch.setattr(import_duplicates, "MEMORY_RECORDS_WHOLE", cap)
        db = str(tmp_path / f"c{chunk}-{cap}.db")
        options = ["--db", db, "--on-duplicate", value]
        if value == "review":
            options += ["--review-file", f"{db}.xlsx"]
        first = imported(str(english), *options)
        second = imported(str(chinese), *options)
        for summary in (first, second):
            summary["duplicates"]["review_file"] = None
            summary.pop("backup")
            for sheet in summary["sheets"]:
                if "duplicates" in sheet:
                    sheet["duplicates"]["review_file"] = None
        found.append((first, second))
    assert found[0][1]["duplicates"]["likely"] > 0
    assert all(f == found[0] for f in found[1:])


def test_a_sheet_that_fits_is_held_whole() -> None:
    from crmcli.operations import import_duplicates as dups

    assert dups.memory_records(dups.MEMORY_RECORDS_WHOLE) == dups.MEMORY_RECORDS_WHOLE
    assert dups.memory_records(dups.MEMORY_RECORDS_WHOLE + 1) == dups.MEMORY_RECORDS
    assert dups.memory_records(None) == dups.MEMORY_RECORDS  # a CSV streams: length unknown
    assert dups.MEMORY_RECORDS < dups.MEMORY_RECORDS_WHOLE


def test_interactions_follow_a_folded_row_and_name_a_skipped_one(
    tmp_path: Path, twins: dict
) -> None:
    book = tmp_path / "log.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "客户"
    ws.append(["客户编号", "客户名称", "手机", "公司"])
    ws.append(["KH0008", "張偉", "+86 138 1234 5678", "深圳某某科技"])
    log = wb.create_sheet("跟进记录")
    log.append(["客户编号", "跟进时间", "跟进方式", "跟进内容"])
    log.append(["KH0008", "2024-03-06 10:30", "电话", "介绍产品"])
    wb.save(book)
    backup = tmp_path / "twins.db"
    shutil.copy(tmp_path / "crm.db", backup)

    summary = imported(str(book), "--on-duplicate", "update")
    assert summary["interactions"]["created"] == 1
    zhang = json.loads(ok("show", "1", "--format", "json"))
    assert [i["summary"] for i in zhang["interactions"]] == ["介绍产品"]

    shutil.copy(backup, tmp_path / "crm.db")
    _code, out, _err = crm("import", str(book), "--on-duplicate", "skip", "--format", "json")
    summary = json.loads(out)
    assert summary["skipped"] == 1 and summary["interactions"]["rejected"] == 1
    (problem,) = summary["sheets"][1]["problems"]
    assert "skipped as a likely duplicate of #1" in problem["reason"]


def test_bad_on_duplicate_values(tmp_path: Path) -> None:
    book = copy_example(tmp_path, CHINESE)
    code, _, err = crm("import", str(book), "--on-duplicate", "merge")
    assert code == 2 and "create|update|skip|review" in err
    code, _, err = crm("import", str(book), "--review-file", str(tmp_path / "r.xlsx"))
    assert code == 2 and "--on-duplicate review" in err


@pytest.mark.parametrize("value", ["create", "update"])
def test_new_customers_are_keyed_as_refresh_keys_them(
    tmp_path: Path, isolated: Path, twins: dict, value: str
) -> None:
    """The import keys its new customers from the records it matched them with, and reads back
    those a later row filled (`TwinFinder.flushed`): the rows must be exactly what
    `match_keys.refresh` derives from the stored customers."""
    from crmcli.store import match_keys, open_store

    book = copy_example(tmp_path, CHINESE)
    summary = imported(str(book), "--on-duplicate", value)
    assert summary["created"] > 0
    if value == "update":
        assert summary["duplicates"]["likely_updated"] > 0  # rows folded into earlier rows
    sql = "SELECT key, customer_id FROM match_keys ORDER BY key, customer_id"
    with open_store(isolated) as store:
        written = store.query(sql)
        ids = [r[0] for r in store.query("SELECT id FROM customers")]
        with store.write():
            store.conn.execute("DELETE FROM match_keys")
            match_keys.refresh(store, ids)
        derived = store.query(sql)
    assert [tuple(r) for r in written] == [tuple(r) for r in derived]
