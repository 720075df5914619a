"""CLI wiring of dedupe, merge, unmerge and merges: bands, formats, exit codes, review files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from cli_helpers import crm, ok

from crmcli.cli import load

app = load()


@pytest.fixture
def people() -> None:
    ok("init")
    ok(
        "add",
        "张伟",
        "--company",
        "深圳某某科技有限公司",
        "-p",
        "13812345678",
        "-e",
        "zw@example.com",
    )
    ok("add", "張偉", "--company", "深圳某某科技", "-p", "+86 138-1234-5678")
    ok("add", "Robert Smith", "--company", "Acme Inc.", "-p", "(415) 555-0134")
    ok("add", "Bob Smith", "--company", "ACME Incorporated", "-p", "+1 415 555 0134")
    ok("add", "Laura Chen", "-p", "415.555.0172")
    ok("add", "Laura Chen", "-p", "415.555.0127")  # a swapped digit: only possible
    ok("add", "李明", "--company", "深圳某某科技有限公司", "-p", "0755-86001234")
    ok("add", "王芳", "--company", "深圳某某科技有限公司", "-p", "0755-86001234")  # colleague


def test_add_warns_with_reasons(people: None) -> None:
    code, _, err = crm("add", "Zhang Wei", "-p", "13812345678")
    assert code == 0
    assert "Warning: looks like #1 张伟 (likely duplicate" in err
    assert "mobile identical (+7)" in err and "name same pinyin (+3.5)" in err


def test_dedupe_lists_bands_most_certain_first(people: None) -> None:
    rows = json.loads(ok("dedupe", "--format", "json"))
    groups: dict[int, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row)
    summary = [(g[0]["band"], sorted(r["id"] for r in g)) for g in groups.values()]
    assert summary == [("likely", [1, 2]), ("likely", [3, 4]), ("possible", [5, 6])]
    first = groups[1][0]
    assert first["phones"] == ["138****5678"]  # masked
    assert "mobile identical (+7)" in first["reasons"]
    assert [r["survivor"] for r in groups[1]].count(True) == 1
    likely_only = json.loads(ok("dedupe", "--format", "json", "--min-score", "8.5"))
    assert {r["group"] for r in likely_only} == {1, 2}


@pytest.mark.parametrize("fmt", ["table", "jsonl", "csv", "tsv"])
def test_dedupe_formats(people: None, fmt: str) -> None:
    code, out, err = crm("dedupe", "--format", fmt)
    assert code == 0 and "3 group(s) of duplicates (2 likely, 1 possible)" in err
    if fmt == "table":
        assert "Group 1 likely" in out and "张伟" in out and "mobile identical" in out
    elif fmt == "jsonl":
        assert len([json.loads(line) for line in out.splitlines()]) == 6
    else:
        reader = csv.DictReader(io.StringIO(out), delimiter="\t" if fmt == "tsv" else ",")
        assert len(list(reader)) == 6


def test_merge_likely_needs_yes_without_a_terminal(people: None) -> None:
    code, _, err = crm("dedupe", "--merge-likely")
    assert code == 2 and "--yes" in err
    code, _, err = crm("dedupe", "--merge-likely", "--yes")
    assert code == 0, err
    assert "Backup before merging" in err
    assert "-> #1 张伟" in err or "-> #2 張偉" in err
    rows = json.loads(ok("dedupe", "--format", "json"))
    assert {r["band"] for r in rows} == {"possible"}  # possible ones are left alone
    merges = json.loads(ok("merges", "--format", "json"))
    assert len(merges) == 2 and all(m["undone_at"] is None for m in merges)


def test_review_without_a_terminal_names_the_alternatives(people: None) -> None:
    code, out, err = crm("dedupe", "--review")
    assert code == 2 and out == ""
    assert "--merge-likely --yes" in err and "--review-file" in err and "Traceback" not in err


def test_merge_unmerge_merges(people: None) -> None:
    code, _, err = crm("merge", "3", "4", "--keep", "3")
    assert code == 0 and "Merge 1: #4 Bob Smith -> #3 Robert Smith" in err
    shown = json.loads(ok("show", "4", "--format", "json"))
    assert shown["id"] == 3
    merges = json.loads(ok("merges", "--format", "json"))
    assert merges[0]["survivor_id"] == 3 and merges[0]["merged_ids"] == [4]
    ok("edit", "3", "--city", "Boston")
    code, _, err = crm("unmerge", "1")
    assert code == 2 and "city" in err and "--force" in err
    code, _, err = crm("unmerge", "1", "--force")
    assert code == 0 and "Undid merge 1" in err
    assert json.loads(ok("show", "4", "--format", "json"))["id"] == 4
    code, _, err = crm("unmerge", "1", "--force")
    assert code == 65 and "already undone" in err
    code, _, err = crm("unmerge", "99")
    assert code == 3
    code, _, err = crm("merge", "3", "999")
    assert code == 3 and "Error: no customer with id 999" in err


def test_review_file_round_trip(people: None, tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "pairs.xlsx"
    code, _, err = crm("dedupe", "--review-file", str(path))
    assert code == 0 and "--apply" in err
    wb = openpyxl.load_workbook(path)
    ws = wb["Duplicates"]
    header = [c.value for c in ws[1]]
    col = {name: header.index(name) + 1 for name in ("group", "decision", "id")}
    decisions = {}
    for row in range(2, ws.max_row + 1):
        group = ws.cell(row, col["group"]).value
        cid = ws.cell(row, col["id"]).value
        decisions[cid] = ws.cell(row, col["decision"]).value
        if group == 2:
            ws.cell(row, col["decision"]).value = None  # the person skips the Smiths
        if group == 3:
            ws.cell(row, col["decision"]).value = "not"
    assert decisions[5] is None  # possible groups come blank
    assert sorted(v for v in (decisions[1], decisions[2])) == ["keep", "merge"]
    wb.save(path)
    code, _, err = crm("dedupe", "--apply", str(path))
    assert code == 2 and "--yes" in err
    code, _, err = crm("dedupe", "--apply", str(path), "--yes")
    assert code == 0, err
    assert "Remembered 1 pair(s) as not duplicates" in err
    rows = json.loads(ok("dedupe", "--format", "json"))
    assert sorted(r["id"] for r in rows) == [3, 4]  # only the skipped group is left
    assert len(json.loads(ok("merges", "--format", "json"))) == 1


def test_apply_refuses_a_file_that_is_not_a_review_file(people: None, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("Name,Phone\nA,1\n", encoding="utf-8")
    code, _, err = crm("dedupe", "--apply", str(path), "--yes")
    assert code == 65 and "not a review workbook" in err


def test_dedupe_reads_stored_keys_and_never_imports_pypinyin(people: None) -> None:
    import subprocess
    import sys

    from crmcli.store import match_keys

    ok("dedupe")  # the first run after an upgrade of the key derivation rebuilds the keys
    code = (
        "import sys\n"
        "from crmcli.cli import main\n"
        "sys.argv = ['crmcli', 'dedupe', '--format', 'jsonl']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('pypinyin' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.count('"group"') >= 4, done.stderr
    assert done.stderr.strip().endswith("False"), done.stderr
    from crmcli.commands.shared import open_db

    with open_db(None, "dedupe") as store:
        keys = [key for key, _size, _ids in match_keys.blocks(store)]
        assert keys and not any(k.startswith(match_keys._BLOCKS_BELOW) for k in keys)
        facts = store.scalar("SELECT COUNT(*) FROM match_keys WHERE key LIKE '~m:%'")
        assert facts == store.scalar("SELECT COUNT(*) FROM customers WHERE merged_into IS NULL")
