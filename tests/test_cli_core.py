"""CLI wiring: exit codes, the stdout/stderr split, formats, no prompts without a terminal."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import crm, ok

from crmcli.errors import ExitCode


def test_version() -> None:
    from crmcli import __version__

    assert ok("--version").strip() == f"crmcli {__version__}"


def test_init_is_idempotent_and_prints_recovery_code_once(isolated: Path) -> None:
    code, out, err = crm("init")
    assert code == 0
    assert "Recovery code" in err and out == ""
    code, out, err = crm("init")
    assert code == 0 and "Recovery code" not in err and "ready" in err


def test_add_search_show_log_round_trip() -> None:
    crm("init")
    code, out, err = crm(
        "add",
        "张伟",
        "--company",
        "深圳某某科技有限公司",
        "-p",
        "13812345678",
        "--tag",
        "vip,展会",
        "--status",
        "潜在",
        "--format",
        "json",
    )
    assert code == 0, err
    (record,) = json.loads(out)
    assert record["name"] == "张伟" and record["status"] == "lead"
    assert record["tags"] == ["vip", "展会"] and record["phones"] == ["138****5678"]
    assert "Added customer #1" in err
    found = json.loads(ok("search", "zw", "--format", "json"))
    assert [r["name"] for r in found] == ["张伟"]
    ok("log", "1", "打电话确认需求", "--channel", "电话", "--next", "2030-01-01")
    shown = json.loads(ok("show", "张伟", "--format", "json"))
    assert shown["interactions"][0]["summary"] == "打电话确认需求"
    assert shown["next_follow_up_on"] == "2030-01-01"
    # the hidden alias works too
    ok("log-interaction", "1", "note two")


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "tsv", "table"])
def test_every_listing_format(fmt: str) -> None:
    ok("add", "Ann Lee", "--city", "Paris", "--tag", "a")
    ok("add", '=HYPERLINK("x")', "--city", "Oslo")
    out = ok("search", "--format", fmt)
    if fmt == "json":
        rows = json.loads(out)
        assert list(rows[0])[:4] == ["id", "external_id", "kind", "name"]
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in out.splitlines()]
        assert len(rows) == 2
    elif fmt in ("csv", "tsv"):
        delimiter = "," if fmt == "csv" else "\t"
        rows = list(csv.DictReader(io.StringIO(out), delimiter=delimiter))
        assert rows[0]["name"] == "Ann Lee" and rows[0]["tags"] == "a"
    else:
        assert "Ann Lee" in out and "Paris" in out


def test_markup_emoji_and_rtl_names_print_as_typed() -> None:
    for name in ("[bold]x", "[red]Bob[/red]", "Ann 🎉", "مرحبا سالم"):
        ok("add", name)
    out = ok("search")
    for name in ("[bold]x", "[red]Bob[/red]", "Ann 🎉", "مرحبا سالم"):
        assert name in out


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("add", "X", "--status", "hot"), ExitCode.DATA_ERR, "unknown status"),
        (("add", "X", "--next", "2024-13-45"), ExitCode.DATA_ERR, "cannot read date"),
        (("add", ""), ExitCode.DATA_ERR, "needs a name"),
        (("add", "X", "--note", "身份证 11010519491231002X"), ExitCode.DATA_ERR, "never stored"),
        (("show", "42"), ExitCode.NOT_FOUND, "no customer with id 42"),
        (("log", "nobody", "hi"), ExitCode.NOT_FOUND, "no customer matches"),
        (("search", "--status", "bogus"), ExitCode.DATA_ERR, "unknown status"),
        (("search", "--format", "xml"), ExitCode.USAGE, ""),
        (("edit", "1", "--clear", "name"), ExitCode.DATA_ERR, "cannot clear"),
    ],
)
def test_bad_input_one_line_error_and_exit_code(
    args: tuple[str, ...], code: int, needle: str
) -> None:
    ok("add", "Somebody")
    exit_code, out, err = crm(*args)
    assert exit_code == code
    assert out == ""
    assert "Traceback" not in err
    assert needle in err
    if needle:
        assert err.startswith("Error: ")
        assert "11010519491231002X" not in err


def test_ambiguous_fragment_lists_candidates_and_exits_3() -> None:
    ok("add", "张伟", "-p", "13812345678")
    ok("add", "张伟", "--company", "Acme")
    code, out, err = crm("log", "张伟", "hello")
    assert code == ExitCode.NOT_FOUND
    assert "#1" in err and "#2" in err and out == ""
    assert json.loads(ok("show", "1", "--format", "json"))["interactions"] == []


def test_delete_without_terminal_needs_yes() -> None:
    ok("add", "Gone Soon")
    code, _, err = crm("delete", "1")
    assert code == ExitCode.USAGE and "--yes" in err
    ok("show", "1")
    ok("delete", "1", "--yes")
    assert crm("show", "1")[0] == ExitCode.NOT_FOUND


def test_readers_refuse_a_missing_database_with_78(isolated: Path) -> None:
    code, _, err = crm("search")
    assert code == ExitCode.NOT_CONFIGURED and "crmcli init" in err
    assert not isolated.exists()


def test_not_a_database_is_a_one_line_error(isolated: Path) -> None:
    isolated.write_bytes(b"this is not sqlite at all" * 100)
    code, _, err = crm("search")
    assert code == ExitCode.NO_INPUT
    assert err.startswith("Error: ") and "not a crmcli database" in err


def test_doctor_names_database_and_key_source_never_the_key(isolated: Path) -> None:
    crm("init")
    facts = json.loads(ok("doctor", "--format", "json"))
    assert facts["database"] == str(isolated)
    assert facts["schema_version"] == facts["program_schema_version"]
    assert "key file" in facts["key_source"]
    key_file = next((isolated.parent / "config" / "keys").glob("*.key"))
    secret = next(line for line in key_file.read_text().splitlines() if not line.startswith("#"))
    assert secret.strip() not in json.dumps(facts)


def test_archive_restore_and_filters() -> None:
    ok("add", "Ann", "--status", "customer", "--grade", "A", "--city", "Paris")
    ok("add", "Bob", "--status", "lost")
    ok("archive", "Bob")
    assert [r["name"] for r in json.loads(ok("search", "-f", "json"))] == ["Ann"]
    assert [r["name"] for r in json.loads(ok("search", "--archived", "-f", "json"))] == ["Bob"]
    ok("restore", "Bob")
    assert [r["name"] for r in json.loads(ok("search", "-s", "成交", "-f", "json"))] == ["Ann"]


def test_python_dash_m_runs_without_a_terminal(isolated: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crmcli", "followups", "--format", "csv"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == ExitCode.NOT_CONFIGURED
    assert result.stderr.startswith("Error: ")
