"""The stale report, the overview (`stats`), the follow-up calendar and the nightly script:
core logic on a fresh database, then the CLI wiring, then the example script from cron."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from cli_helpers import crm, ok
from typer.testing import CliRunner

from crmcli.cli import app
from crmcli.errors import DatabaseBusy, ExitCode, InvalidInput
from crmcli.migrations import MIGRATIONS
from crmcli.models import build_draft
from crmcli.operations import customers, interactions, reports
from crmcli.operations.reports import StaleOptions
from crmcli.store import Store, open_store
from crmcli.store import reports as reports_db

REPO = Path(__file__).resolve().parents[1]
TODAY = date(2026, 6, 15)
runner = CliRunner()


@pytest.fixture
def store(isolated: Path) -> Store:
    s = open_store(isolated, create=True)
    s.command = "test"
    return s


def add(store: Store, name: str, **values: object) -> int:
    return customers.add(store, build_draft({"name": name, **values})).id


def log(store: Store, customer_id: int, day: date, channel: str = "call") -> None:
    interactions.log(store, customer_id, "talked", channel=channel, at=f"{day}T10:00:00Z")


def stale(store: Store, today: date = TODAY, **options: object) -> list[dict]:
    report = reports.stale_report(store, StaleOptions(**options), lists="split", today=today)  # type: ignore[arg-type]
    return [dict(zip(report.fields, row, strict=True)) for row in report.rows]


def names(rows: list[dict]) -> list[str]:
    return [r["name"] for r in rows]


# -- the stale report, core -------------------------------------------------------------


def test_stale_orders_longest_silent_first_with_fallbacks(store: Store) -> None:
    a = add(store, "Called long ago", phones=["13812345678"], tags=["vip"], grade="A")
    log(store, a, TODAY - timedelta(days=200))
    log(store, a, TODAY - timedelta(days=120), channel="visit")
    add(store, "Never called, met in spring", first_contact_on=str(TODAY - timedelta(days=150)))
    b = add(store, "Called yesterday")
    log(store, b, TODAY - timedelta(days=1))
    rows = stale(store, days=90)
    assert names(rows) == ["Never called, met in spring", "Called long ago"]
    first, second = rows
    assert first["days_silent"] == 150 and first["last_channel"] is None
    assert first["silent_since"] == str(TODAY - timedelta(days=150))
    assert second["days_silent"] == 120 and second["last_channel"] == "visit"
    assert second["phones"] == ["138****5678"] and second["tags"] == ["vip"]
    assert second["grade"] == "A" and second["status"] == "lead"


def test_stale_boundary_is_more_than_n_days(store: Store) -> None:
    exactly = add(store, "Exactly 90")
    log(store, exactly, TODAY - timedelta(days=90))
    over = add(store, "91 days")
    log(store, over, TODAY - timedelta(days=91))
    assert names(stale(store, days=90)) == ["91 days"]
    assert names(stale(store, days=89)) == ["91 days", "Exactly 90"]


def test_stale_without_any_date_falls_back_to_creation(store: Store) -> None:
    add(store, "Just added")
    assert stale(store, days=0, today=date.today() + timedelta(days=2))[0]["days_silent"] == 2
    assert stale(store, days=90, today=date.today()) == []


def test_lost_and_archived_are_left_out_unless_asked(store: Store) -> None:
    for name, status in (("Live", "customer"), ("Lost", "lost"), ("Dormant", "prospect")):
        cid = add(store, name, status=status)
        log(store, cid, TODAY - timedelta(days=100 + cid))
    customers.set_archived(store, [3], True)
    assert names(stale(store)) == ["Live"]
    assert names(stale(store, include_lost=True)) == ["Lost", "Live"]
    assert names(stale(store, include_archived=True)) == ["Dormant", "Live"]
    assert names(stale(store, statuses=["lost"])) == ["Lost"]  # asked for by name


def test_stale_filters_and_limit(store: Store) -> None:
    rows = [
        ("A1", {"grade": "A", "source": "referral", "tags": ["vip"]}),
        ("B1", {"grade": "B", "source": "website"}),
        ("A2", {"grade": "A", "source": "website", "status": "prospect"}),
    ]
    for n, (name, values) in enumerate(rows):
        cid = add(store, name, **values)
        log(store, cid, TODAY - timedelta(days=300 - n))
    assert names(stale(store, grades=["A"])) == ["A1", "A2"]
    assert names(stale(store, sources=["website"])) == ["B1", "A2"]
    assert names(stale(store, tags=["vip"])) == ["A1"]
    assert names(stale(store, statuses=["prospect"])) == ["A2"]
    assert names(stale(store, limit=2)) == ["A1", "B1"]


def test_stale_query_is_a_range_scan_of_the_silence_index(store: Store) -> None:
    index_sql = next(s for s in MIGRATIONS[0][1] if "customers_silence" in s)
    assert reports_db.SILENCE in index_sql  # the report and the index say the same thing
    add(store, "X", tags=["t"])
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    stale(store, grades=["A"], tags=["t"], sources=["web"])
    store.conn.set_trace_callback(None)
    query = next(s for s in seen if "FROM customers c INDEXED BY" in s)
    plan = " / ".join(r[3] for r in store.conn.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert "SEARCH c USING INDEX customers_silence (<expr><?)" in plan
    assert "TEMP B-TREE" not in plan  # already in order: no sort of the whole result


def test_stale_report_never_loads_the_key(store: Store) -> None:
    add(store, "Ann", phones=["13812345678"], emails=["ann@example.com"])
    fresh = open_store(store.path)
    rows = stale(fresh, days=0, today=date.today() + timedelta(days=1))
    assert rows[0]["phones"] == ["138****5678"]
    assert fresh._vault is None


def test_new_only_lists_what_changed_since_the_previous_run(store: Store) -> None:
    early = add(store, "Early")
    log(store, early, TODAY - timedelta(days=100))
    later = add(store, "Later")
    log(store, later, TODAY - timedelta(days=80))

    def run(today: date, **options: object) -> list[str]:
        report = reports.stale_report(
            store,
            StaleOptions(**options),
            report="nightly",
            today=today,  # type: ignore[arg-type]
        )
        return [row[2] for row in report.rows]

    assert run(TODAY) == ["Early"]  # the first run lists everyone stale
    assert run(TODAY) == []
    assert run(TODAY + timedelta(days=15)) == ["Later"]  # crossed the line since
    assert run(TODAY + timedelta(days=15)) == []
    log(store, early, TODAY + timedelta(days=16))  # contacted: leaves the set...
    assert run(TODAY + timedelta(days=17)) == []
    assert reports_db.report_state_ids(store, "nightly") == [later]
    assert run(TODAY + timedelta(days=120)) == ["Early"]  # ...and comes back when stale again
    assert run(TODAY + timedelta(days=120)) == []
    # Another report name has its own state.
    other = reports.stale_report(
        store, StaleOptions(), report="weekly", today=TODAY + timedelta(days=120)
    )
    assert [row[2] for row in other.rows] == ["Later", "Early"]


def test_new_only_warns_when_options_changed(store: Store) -> None:
    first = reports.stale_report(store, StaleOptions(days=90), report="r", today=TODAY)
    assert first.previous_options is None
    again = reports.stale_report(store, StaleOptions(days=30), report="r", today=TODAY)
    assert again.previous_options is not None and '"days": 90' in again.previous_options


def test_new_only_state_is_given_back_when_delivery_fails(store: Store) -> None:
    cid = add(store, "Old")
    log(store, cid, TODAY - timedelta(days=200))
    report = reports.stale_report(store, StaleOptions(), report="nightly", today=TODAY)
    with pytest.raises(BrokenPipeError), reports.delivering(store, report):
        next(report.rows)
        raise BrokenPipeError  # the reader went away mid-report
    report = reports.stale_report(store, StaleOptions(), report="nightly", today=TODAY)
    assert [row[2] for row in report.rows] == ["Old"]  # listed again next time


def test_report_names_are_checked(store: Store) -> None:
    with pytest.raises(InvalidInput, match="report name"):
        reports.stale_report(store, StaleOptions(), report="no spaces please")


def test_archive_listed_rechecks_and_backs_up_first(store: Store) -> None:
    ids = [add(store, f"C{n}") for n in range(3)]
    for cid in ids:
        log(store, cid, TODAY - timedelta(days=200))
    report = reports.stale_report(store, StaleOptions(), today=date.today())
    assert len(list(report.rows)) == 3
    log(store, ids[1], date.today())  # a call came in after the report was printed
    done = reports.archive_listed(store, report)
    assert done.archived == [ids[0], ids[2]] and done.skipped == 1
    assert done.backup is not None and done.backup.exists()
    backed_up = sqlite3.connect(done.backup)
    live = "SELECT COUNT(*) FROM customers WHERE archived_at IS NULL"
    assert backed_up.execute(live).fetchone()[0] == 3  # taken before the change
    backed_up.close()
    assert names(stale(store, today=date.today(), include_archived=True)) == ["C0", "C2"]
    assert stale(store, today=date.today()) == []


# -- the overview -----------------------------------------------------------------------


def test_overview_counts_funnel_activity_followups_and_soon_stale(store: Store) -> None:
    today = date(2026, 6, 17)  # a Wednesday
    spec = [
        ("L1", "lead", "A", "referral", "深圳"),
        ("L2", "lead", "B", "website", "深圳"),
        ("P1", "prospect", "A", "referral", "Paris"),
        ("C1", "customer", None, None, None),
        ("X1", "lost", "C", "website", "Paris"),
    ]
    ids = {}
    follow_ups = {"L2": "2026-06-10", "P1": "2026-06-21"}
    for name, status, grade, source, city in spec:
        values = {"status": status, "grade": grade, "source": source, "city": city}
        values["next_follow_up_on"] = follow_ups.get(name)
        ids[name] = add(store, name, **{k: v for k, v in values.items() if v})
    log(store, ids["L1"], date(2026, 6, 1))
    log(store, ids["L1"], date(2026, 5, 20))
    log(store, ids["P1"], date(2025, 8, 1))  # before the 12-month window
    log(store, ids["C1"], today - timedelta(days=85))  # stale at 90 in 6 days
    archived = add(store, "Gone", status="customer")
    customers.set_archived(store, [archived], True)

    o = reports.overview(store, today=today)
    assert json.loads(json.dumps(o)) == o  # plain data, as --format json prints it
    assert o["customers"] == {"total": 5, "archived": 1, "archived_included": False}
    assert o["by_status"] == [
        {"status": "lead", "count": 2},
        {"status": "prospect", "count": 1},
        {"status": "customer", "count": 1},
        {"status": "lost", "count": 1},
    ]
    assert o["by_grade"][0] == {"grade": "A", "count": 2}
    assert o["by_grade"][-1] == {"grade": None, "count": 1}
    assert {"city": "深圳", "count": 2} in o["by_city"]
    stages = {s["stage"]: s for s in o["funnel"]["stages"]}
    assert [stages[s]["reached"] for s in ("lead", "prospect", "customer")] == [4, 2, 1]
    assert stages["prospect"]["rate_from_previous"] == 0.5
    assert stages["lead"]["rate_from_previous"] is None
    assert o["funnel"]["lead_to_customer"] == 0.25 and o["funnel"]["lost"] == 1
    activity = o["activity"]
    assert activity["since"] == "2025-07-01" and len(activity["buckets"]) == 12
    assert activity["buckets"][-2:] == [
        {"start": "2026-05-01", "interactions": 1},
        {"start": "2026-06-01", "interactions": 1},
    ]
    assert activity["total"] == 4
    weekly = reports.overview(store, today=today, by="week")["activity"]
    assert len(weekly["buckets"]) == 52 and weekly["buckets"][-1]["start"] == "2026-06-15"
    week = o["followups_this_week"]
    assert (week["week_start"], week["week_end"]) == ("2026-06-15", "2026-06-21")
    assert (week["overdue"], week["today"], week["later_this_week"]) == (1, 0, 1)
    assert [c["name"] for c in week["customers"]] == ["L2", "P1"]
    soon = o["stale"]
    assert soon["customers"][0]["name"] == "C1" and soon["customers"][0]["stale_in_days"] == 6
    assert soon["soon"] == 1
    assert soon["now"] == 1  # P1 (lost X1 left out; L2 created today)


def test_overview_of_an_empty_database(store: Store) -> None:
    o = reports.overview(store, today=TODAY)
    assert o["customers"]["total"] == 0
    assert o["funnel"]["lead_to_customer"] is None
    assert o["activity"]["total"] == 0


# -- the follow-up calendar -------------------------------------------------------------


def _unfold(text: str) -> list[str]:
    assert "\n" not in text.replace("\r\n", "")  # CRLF only
    return text.replace("\r\n ", "").split("\r\n")


def test_followups_ics_is_valid_icalendar(store: Store) -> None:
    long_name = "深圳某某科技有限公司的非常长的名字, Inc.; and \\ more"
    cid = add(store, long_name, next_follow_up_on="2026-07-01", phones=["13812345678"])
    add(store, "No follow-up")
    events = reports.followup_events(store, within=None, today=TODAY)
    assert [e["customer_id"] for e in events] == [cid]
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    try:
        from crmcli import render_reports

        render_reports.ics(events, stamp="2026-06-15T09:00:00Z")
    finally:
        sys.stdout = sys_stdout
    text = out.getvalue()
    assert text.endswith("\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    lines = _unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    assert "DTSTART;VALUE=DATE:20260701" in lines and "DTEND;VALUE=DATE:20260702" in lines
    assert "DTSTAMP:20260615T090000Z" in lines
    uid = next(line for line in lines if line.startswith("UID:"))
    assert uid.startswith(f"UID:followup-{cid}-")
    summary = next(line for line in lines if line.startswith("SUMMARY:"))
    assert (
        summary == "SUMMARY:Follow up: 深圳某某科技有限公司的非常长的名字\\, Inc.\\; and \\\\ more"
    )
    description = next(line for line in lines if line.startswith("DESCRIPTION:"))
    assert "\\n" in description and "138****5678" in description
    assert reports.followup_events(store, within=5, today=TODAY) == []


# -- the CLI ----------------------------------------------------------------------------


def _silent(name: str, days: int, *extra: str) -> None:
    ok("add", name, *extra)
    cid = json.loads(ok("search", name, "-f", "json"))[0]["id"]
    at = (date.today() - timedelta(days=days)).isoformat()
    ok("log", str(cid), "called", "--channel", "call", "--at", at)


@pytest.fixture
def crm_db(isolated: Path) -> Path:
    ok("init")
    _silent("张伟", 200, "--company", "深圳某某科技有限公司", "-p", "13812345678", "--grade", "A")
    _silent("Bob Smith", 120, "--status", "customer", "--tag", "vip")
    _silent("Fresh Fred", 3)
    return isolated


@pytest.mark.parametrize("fmt", ["table", "json", "jsonl", "csv", "tsv"])
def test_stale_every_format(crm_db: Path, fmt: str) -> None:
    code, out, err = crm("stale", "--days", "90", "--format", fmt)
    assert code == 0 and err == ""
    if fmt == "table":
        assert "张伟" in out and "Bob Smith" in out and "Fresh Fred" not in out
        assert "200 d" in out and "138****5678" in out
        return
    if fmt == "json":
        rows = json.loads(out)
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in out.splitlines()]
    else:
        reader = csv.DictReader(io.StringIO(out), delimiter="," if fmt == "csv" else "\t")
        rows = list(reader)
    assert [r["name"] for r in rows] == ["张伟", "Bob Smith"]
    assert list(rows[0])[:3] == ["id", "external_id", "name"]
    assert str(rows[0]["days_silent"]) == "200" and rows[1]["last_channel"] == "call"
    if fmt in ("json", "jsonl"):
        assert rows[0]["phones"] == ["138****5678"] and rows[1]["tags"] == ["vip"]
    else:
        assert rows[0]["phones"] == "138****5678" and rows[1]["tags"] == "vip"


def test_stale_empty_json_is_an_empty_array(crm_db: Path) -> None:
    assert json.loads(ok("stale", "--days", "1000", "-f", "json")) == []
    assert ok("stale", "--days", "1000", "-f", "csv").startswith("id,external_id,name,")


def test_fail_if_any_exit_codes(crm_db: Path) -> None:
    code, out, _ = crm("stale", "--fail-if-any", "-f", "csv")
    assert code == ExitCode.REPORT_NOT_EMPTY == 4 and "张伟" in out
    assert crm("stale", "--fail-if-any", "--days", "1000")[0] == 0


def test_new_only_via_the_cli(crm_db: Path) -> None:
    args = ("stale", "--new-only", "--report", "nightly", "-f", "csv", "--fail-if-any")
    code, out, _ = crm(*args)
    assert code == 4 and len(out.splitlines()) == 3
    code, out, _ = crm(*args)
    assert code == 0 and len(out.splitlines()) == 1  # the header only
    assert "Newly stale since the last 'stale' run" in ok("stale", "--new-only", "--days", "1")
    code, out, err = crm("stale", "--new-only", "--days", "1")
    assert code == 0 and out == ""
    assert "No customer became stale since the last 'stale' run." in err


def test_output_files(crm_db: Path, tmp_path: Path) -> None:
    import openpyxl

    code, out, err = crm("stale", "--output", str(tmp_path / "r.xlsx"))
    assert code == 0 and out == "" and "Wrote 2 stale customers" in err
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("ID", "Customer no.", "Name") and rows[1][2] == "张伟"
    assert rows[1][4] == "138****5678" and rows[1][10] == 200
    ok("stale", "-o", str(tmp_path / "r.csv"))
    text = (tmp_path / "r.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbfid,") and b"\r\n" in text  # Excel reads it right
    ok("stale", "-o", str(tmp_path / "empty.csv"), "--days", "999")
    assert (tmp_path / "empty.csv").read_text(encoding="utf-8-sig").count("\n") == 1


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("--report", "x"), ExitCode.USAGE, "add --new-only"),
        (("--new-only", "--limit", "5"), ExitCode.USAGE, "--limit cannot"),
        (("--output", "r.txt"), ExitCode.USAGE, ".xlsx or a .csv"),
        (("--output", "missing/r.csv"), ExitCode.USAGE, "does not exist"),
        (("--status", "bogus"), ExitCode.DATA_ERR, "unknown status"),
        (("--grade", "Z"), ExitCode.DATA_ERR, "grade"),
        (("--days", "-1"), ExitCode.USAGE, ""),
        (("--new-only", "--report", "a b"), ExitCode.DATA_ERR, "report name"),
        (("--archive",), ExitCode.USAGE, "--yes"),
    ],
)
def test_stale_bad_input(crm_db: Path, args: tuple[str, ...], code: int, needle: str) -> None:
    exit_code, out, err = crm("stale", *args)
    assert exit_code == code and out == "" and "Traceback" not in err
    if needle:
        assert err.startswith("Error: ") and needle in err


def test_stale_archive_with_yes(crm_db: Path) -> None:
    code, out, err = crm("stale", "--archive", "--yes", "-f", "csv")
    assert code == 0 and "张伟" in out
    assert "Archived 2 customers" in err and "backup:" in err
    assert list((crm_db.parent / "backups").glob("crm.auto-*-stale-archive.db"))
    assert ok("stale", "-f", "csv").count("\n") == 1
    archived = json.loads(ok("search", "--archived", "-f", "json"))
    assert sorted(r["name"] for r in archived) == ["Bob Smith", "张伟"]


def test_stats_cli(crm_db: Path) -> None:
    o = json.loads(ok("stats", "--format", "json"))
    assert o["customers"]["total"] == 3 and o["stale"]["now"] == 2
    assert o["activity"]["by"] == "month" and o["activity"]["total"] >= 1
    table = ok("stats", "--by", "week")
    for needle in ("By status", "Funnel", "Interactions per week", "Follow-ups this week"):
        assert needle in table
    assert "█" in table
    rows = list(csv.DictReader(io.StringIO(ok("stats", "-f", "csv"))))
    assert {"section": "customers", "key": "total", "value": "3"} in rows
    assert crm("stats", "--by", "day")[0] == ExitCode.USAGE


def test_followups_ics_cli(crm_db: Path) -> None:
    ok("edit", "Bob Smith", "--next", "2030-01-02")
    result = runner.invoke(app, ["followups", "--format", "ics"])
    out = result.stdout_bytes.decode()  # .stdout would turn CRLF into LF
    assert result.exit_code == 0 and out.startswith("BEGIN:VCALENDAR\r\n")
    assert "DTSTART;VALUE=DATE:20300102" in out and out.count("\r\n") == out.count("\n")
    assert "DTSTART" not in ok("followups", "--format", "ics", "--within", "3")
    assert ok("followups", "--format", "csv").count("\n") == 1  # other formats unchanged


def test_stale_imports_no_heavy_library(crm_db: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "crmcli", "stale", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    for heavy in ("pydantic", "openpyxl", "rapidfuzz", "keyring", "cryptography", "rich"):
        assert heavy not in imported


# -- the nightly script, run the way cron runs it ---------------------------------------


def _cron(db: Path, *, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CRMCLI_DB": str(db), **(extra or {})}
    return subprocess.run(
        [
            "env",
            "-i",
            *(f"{k}={v}" for k, v in env.items()),
            "sh",
            "examples/nightly-stale-report.sh",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


@pytest.mark.skipif(shutil.which("env") is None, reason="needs env(1)")
def test_nightly_script_from_a_bare_environment(crm_db: Path, tmp_path: Path) -> None:
    # No HOME, no terminal, no keyring, no config dir: only PATH and CRMCLI_DB.
    first = _cron(crm_db)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    report = crm_db.parent / "reports" / f"stale-{date.today()}.csv"
    assert f"2 customer(s) silent for more than 90 days ({date.today()}): {report}" in first.stdout
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [r["name"] for r in rows] == ["张伟", "Bob Smith"]
    assert rows[0]["phones"] == "138****5678"
    assert not list(report.parent.glob(".stale-*"))  # no temporary file left behind

    report.unlink()
    second = _cron(crm_db)  # nothing new since: silent, so cron sends no mail
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
    assert not report.exists()

    broken = _cron(tmp_path / "nowhere.db")
    assert broken.returncode == ExitCode.NOT_CONFIGURED
    assert "crmcli init" in broken.stderr and "failed (exit 78)" in broken.stderr


def test_nightly_script_mails_when_mail_is_there(crm_db: Path, tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "mail").write_text('#!/bin/sh\necho "$@" > "$MAIL_LOG"; cat >> "$MAIL_LOG"\n')
    (fake / "mail").chmod(0o755)
    log_file = tmp_path / "mail.log"
    bin_dir = Path(sys.executable).parent
    env = {
        "PATH": f"{fake}:{bin_dir}:/usr/bin:/bin",
        "CRMCLI_DB": str(crm_db),
        "MAIL_TO": "me@example.com",
        "MAIL_LOG": str(log_file),
        "REPORT_DIR": str(tmp_path / "out"),
    }
    result = subprocess.run(
        [
            "env",
            "-i",
            *(f"{k}={v}" for k, v in env.items()),
            "sh",
            "examples/nightly-stale-report.sh",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout == "", result.stderr
    sent = log_file.read_text()
    assert sent.startswith("-s crmcli: 2 customer(s)") and "me@example.com" in sent
    assert "张伟" in sent


def test_busy_new_only_fails_cleanly_without_output(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = add(store, "Old")
    log(store, cid, TODAY - timedelta(days=200))
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    monkeypatch.setenv("CRMCLI_BUSY_TIMEOUT", "0.2")
    try:
        impatient = open_store(store.path)
        with pytest.raises(DatabaseBusy, match="busy"):
            reports.stale_report(impatient, StaleOptions(), report="nightly", today=TODAY)
        assert [r[2] for r in reports.stale_report(impatient, StaleOptions(), today=TODAY).rows]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert reports_db.report_state_ids(store, "nightly") == []


def test_stats_counters_follow_every_kind_of_change(store: Store) -> None:
    from crmcli.operations import merging

    a = add(store, "Ann", status="lead", grade="A", source="referral", city="Paris")
    b = add(store, "Ann L", status="prospect", city="Paris")
    c = add(store, "Carl", status="customer", grade="B", source="website")
    d = add(store, "Dora")
    for cid, day in ((a, "2026-01-05"), (a, "2026-01-05"), (b, "2026-02-01"), (d, "2026-03-01")):
        log(store, cid, date.fromisoformat(day))
    customers.edit(store, c, build_draft({"status": "lost", "city": "Oslo"}))
    customers.set_archived(store, [b], True)
    customers.set_archived(store, [b], False)
    customers.set_archived(store, [c], True)
    merged = merging.merge(store, [a, b], keep=a)
    customers.delete(store, d)

    def truth() -> tuple[list[tuple], int, list[tuple]]:
        conn = store.conn
        profile = conn.execute(
            "SELECT status, grade, source, city, COUNT(*) FROM customers"
            " WHERE merged_into IS NULL GROUP BY 1, 2, 3, 4"
        ).fetchall()
        archived = conn.execute(
            "SELECT COUNT(*) FROM customers WHERE merged_into IS NULL AND archived_at IS NOT NULL"
        ).fetchone()[0]
        days = conn.execute(
            "SELECT substr(at, 1, 10), COUNT(*) FROM interactions GROUP BY 1"
        ).fetchall()
        return sorted(map(tuple, profile), key=str), archived, sorted(map(tuple, days))

    def counters() -> tuple[list[tuple], int, list[tuple]]:
        return (
            sorted(reports_db.profile_counts(store, True), key=str),
            reports_db.archived_count(store),
            reports_db.interactions_per_day(store, "0000"),
        )

    assert counters() == truth()
    assert [r[4] for r in counters()[0]] == [1, 1]  # Ann (with Ann L merged in) and Carl
    merging.unmerge(store, merged.merge_id)
    assert counters() == truth()
    assert len(counters()[0]) == 3
