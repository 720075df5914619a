"""`crmcli clean`: the example workbooks come out de-duplicated, in three sheets."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from crmcli.cli import load

runner = CliRunner()
app = load()
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_clean(name: str, out: Path) -> tuple[int, str, dict[str, list[tuple]]]:
    result = runner.invoke(app, ["clean", str(EXAMPLES / name), "-o", str(out)])
    sheets = {}
    if out.exists():
        wb = openpyxl.load_workbook(out)
        sheets = {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb}
    return result.exit_code, result.stderr, sheets


def test_clean_chinese_workbook(tmp_path: Path, isolated: Path) -> None:
    code, err, sheets = run_clean("客户信息登记表.xlsx", tmp_path / "clean.xlsx")
    assert code == 0, err
    assert list(sheets) == ["客户", "合并记录", "待人工处理"]
    merges = {(r[1], r[3]) for r in sheets["合并记录"][1:]}
    assert merges == {
        ("KH0001 张伟", "KH0008 張偉"),
        ("KH0002 李娜", "KH0025 李娜"),
        ("KH0006 深圳某某科技有限公司", "KH0007 某某公司"),
    }
    customers = sheets["客户"]
    header = customers[0]
    assert len(customers) - 1 == 20  # 25 rows, 3 merged away, 2 rejected
    zhang = next(r for r in customers if r[header.index("客户名称")] == "张伟")
    assert "+8613812345678" in zhang[header.index("电话")]  # cleaned to E.164, not masked
    assert zhang[header.index("来源行")] == "4, 11"
    review = sheets["待人工处理"]
    reasons = " ".join(str(r[-1]) for r in review[1:])
    assert "bank card" in reasons and "6222021001123456789" not in reasons
    assert "身份证号" not in header and not any("110105198503121234" in str(c) for c in zhang)
    assert not isolated.exists()  # the user's database was never created or touched


def test_clean_english_workbook(tmp_path: Path) -> None:
    code, err, sheets = run_clean("customers-en.xlsx", tmp_path / "clean.xlsx")
    assert code == 0, err
    assert list(sheets) == ["Customers", "Merges", "Needs a person"]
    (merge,) = sheets["Merges"][1:]
    assert merge[1] == "C-1001 Robert Smith"
    assert merge[3] == "C-1002 Bob Smith; C-1017 Robert Smith"
    assert "nickname" in merge[5]
    header = sheets["Customers"][0]
    robert = next(r for r in sheets["Customers"] if r[header.index("Name")] == "Robert Smith")
    assert robert[header.index("Status")] == "customer"  # the most advanced of the three
    assert "bob@acme.example.com" in robert[header.index("Emails")]


def test_clean_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    src = tmp_path / "in.xlsx"
    src.write_bytes((EXAMPLES / "customers-en.xlsx").read_bytes())
    result = runner.invoke(app, ["clean", str(src), "-o", str(src)])
    assert result.exit_code == 2 and "another file" in result.stderr
    result = runner.invoke(app, ["clean", str(tmp_path / "missing.xlsx"), "-o", "x.xlsx"])
    assert result.exit_code == 66
