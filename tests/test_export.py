"""`crmcli export`: the workbook a person would make, CSV and JSON, masking, audit, filters."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from cli_helpers import crm, ok
from typer.testing import CliRunner

from crmcli.errors import ExitCode
from crmcli.store import open_store

runner = CliRunner()


@pytest.fixture
def customers() -> None:
    ok("init")
    ok("add", "张伟", "--company", "深圳某某科技有限公司", "-p", "13812345678", "-p",
       "010-58123456", "-e", "zhang@example.com", "--status", "意向", "--tag", "vip,展会",
       "--first-contact", "2024-03-05", "--next", "2030-01-02", "--external-id", "KH1")  # fmt: skip
    ok("add", '=HYPERLINK("http://x")', "--note", "@SUM(A1)", "--status", "lost", "-g", "B")
    ok("add", "Bob Smith", "-p", "+1 415 555 0134", "--city", "San Francisco", "--kind",
       "company")  # fmt: skip
    ok("log", "1", "介绍产品", "--channel", "电话", "--at", "2024-03-06 10:30", "--next", "+3d")


def test_workbook_a_person_would_make(tmp_path: Path, customers: None) -> None:
    path = tmp_path / "out.xlsx"
    code, out, err = crm("export", str(path))
    assert code == 0 and out == ""
    assert "Exported 3 customers and 1 interactions" in err and "masked" in err
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Customers", "Interactions"]
    ws = wb["Customers"]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["crmcli ID", "Customer No.", "Kind", "Name", "Company", "Phones"]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:W4"
    assert 8 <= ws.column_dimensions["E"].width <= 50
    row = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert row["Phones"].value == "138****5678; 105***3456"  # masked by default
    assert row["Phones"].data_type == "s" and row["Phones"].number_format == "@"
    assert row["First contact"].value == dt.datetime(2024, 3, 5)
    assert row["First contact"].number_format == "yyyy-mm-dd"
    assert row["Status"].value == "prospect" and row["Tags"].value == "vip, 展会"
    evil = {h: c for h, c in zip(header, ws[3], strict=True)}
    assert evil["Name"].value == '=HYPERLINK("http://x")' and evil["Name"].data_type == "s"
    assert evil["Name"].quotePrefix and evil["Notes"].quotePrefix
    inter = wb["Interactions"]
    assert [c.value for c in inter[1]][:4] == ["crmcli ID", "Customer No.", "Customer", "At (UTC)"]
    assert inter["D2"].value == dt.datetime(2024, 3, 6, 10, 30) and inter["E2"].value == "call"


def test_chinese_labels_and_reveal_is_audited(
    tmp_path: Path, customers: None, isolated: Path
) -> None:
    path = tmp_path / "中文.xlsx"
    ok("export", str(path), "--labels", "zh", "--reveal", "--status", "意向")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["客户", "跟进记录"]
    ws = wb["客户"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["系统ID", "客户编号", "客户类型", "客户名称"]
    row = {h: c.value for h, c in zip(header, ws[2], strict=True)}
    assert row["客户状态"] == "意向客户" and row["客户类型"] == "个人"
    assert row["电话"] == "+8613812345678; +861058123456" and row["邮箱"] == "zhang@example.com"
    assert ws.max_row == 2  # the status filter
    assert wb["跟进记录"]["E2"].value == "电话"
    with open_store(isolated) as store:
        (audit,) = store.query("SELECT details FROM audit WHERE action = 'export'")
    details = json.loads(audit[0])
    assert details["reveal"] is True and details["customers"] == 1
    assert details["filters"] == {"status": ["意向"]}
    assert "13812345678" not in audit[0]


def test_csv_and_json_formats(tmp_path: Path, customers: None) -> None:
    ok("export", str(tmp_path / "c.csv"))
    with (tmp_path / "c.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and rows[0]["Phones"] == "138****5678; 105***3456"
    assert rows[1]["Name"].startswith("'=")  # formula neutralised for spreadsheets
    out = ok("export", str(tmp_path / "c.json"), "--format", "json")
    assert json.loads(out)["customers"] == 3
    records = json.loads((tmp_path / "c.json").read_text())
    assert [r["id"] for r in records] == [1, 2, 3]
    assert records[0]["interactions"][0]["summary"] == "介绍产品"
    assert records[0]["emails"] == ["z***@example.com"] and records[0]["status"] == "prospect"
    ok("export", str(tmp_path / "c.jsonl"), "--tag", "vip")
    lines = (tmp_path / "c.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["name"] == "张伟"


def test_empty_export_and_bad_paths(tmp_path: Path) -> None:
    ok("init")
    ok("export", str(tmp_path / "none.json"))
    assert json.loads((tmp_path / "none.json").read_text()) == []
    ok("export", str(tmp_path / "none.xlsx"))
    assert openpyxl.load_workbook(tmp_path / "none.xlsx")["Customers"].max_row == 1
    code, _, err = crm("export", str(tmp_path / "x.pdf"))
    assert code == ExitCode.USAGE and "name the file .xlsx" in err
    code, _, err = crm("export", str(tmp_path / "no" / "dir.xlsx"))
    assert code == ExitCode.NO_INPUT and err.startswith("Error: cannot write")
    code, _, err = crm("export", str(tmp_path / "x.xlsx"), "--labels", "fr")
    assert code == ExitCode.USAGE


def test_archived_customers_are_left_out_unless_asked(tmp_path: Path, customers: None) -> None:
    ok("archive", "3")
    ok("export", str(tmp_path / "a.json"))
    assert len(json.loads((tmp_path / "a.json").read_text())) == 2
    ok("export", str(tmp_path / "b.json"), "--include-archived")
    assert len(json.loads((tmp_path / "b.json").read_text())) == 3
    ok("export", str(tmp_path / "c.json"), "--archived", "--query", "bob")
    assert [r["name"] for r in json.loads((tmp_path / "c.json").read_text())] == ["Bob Smith"]
