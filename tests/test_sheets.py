"""crmcli.sheets: reading messy workbooks and CSVs, header mapping, cell cleaning, safe writing."""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcli import sheets
from crmcli.errors import InputFileError, InvalidInput, UsageError
from crmcli.sheets import (
    SheetSpec,
    cell_date,
    cell_text,
    looks_like_interactions,
    lost_digits,
    map_headers,
    read_sheet,
    sheet_names,
    write_csv,
    write_xlsx,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def make_xlsx(path: Path, rows: list[list[object]], title: str = "Sheet1") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    wb.save(path)
    return path


# --- header mapping -----------------------------------------------------------------------------


def test_chinese_synonyms_with_odd_spacing_and_annotations() -> None:
    hm = map_headers(["序号", "客户编号", " 客户 名称*", "手机号码(必填)", "联系电话：", "电子邮箱",
                      "所在公司", "首次联系时间", "预算范围（万元）", "备注", "说明"])  # fmt: skip
    assert hm.fields == {
        1: "external_id", 2: "name", 3: "phones", 4: "phones", 5: "emails", 6: "company",
        7: "first_contact_on", 8: "budget", 9: "notes", 10: "notes",
    }  # fmt: skip
    assert hm.unmapped == [(0, "序号")]  # a row counter, not a customer number


def test_english_synonyms_case_and_punctuation_insensitive() -> None:
    hm = map_headers(["CUSTOMER ID", "full_name", "E-Mail", "Cell", "tel.", "Lead Source",
                      "next follow-up", "Last Contacted", "Tier", "Whatever"])  # fmt: skip
    assert [hm.fields.get(i) for i in range(9)] == [
        "external_id", "name", "emails", "phones", "phones", "source", "next_follow_up_on",
        "last_contacted_at", "grade",
    ]  # fmt: skip
    assert hm.unmapped == [(9, "Whatever")]


def test_company_name_is_the_name_unless_a_person_is_named() -> None:
    assert map_headers(["公司名称", "电话"]).fields == {0: "name", 1: "phones"}
    assert map_headers(["联系人", "公司名称", "电话"]).fields == {
        0: "name",
        1: "company",
        2: "phones",
    }


def test_second_column_for_a_single_field_is_reported_not_guessed() -> None:
    hm = map_headers(["姓名", "客户名称"])
    assert hm.fields == {0: "name"}
    assert hm.unmapped == [(1, "客户名称")]


@pytest.mark.parametrize(
    "header",
    ["身份证号", "法人身份证号码", "证件号码", "银行卡号", "银行账号", "ID Card", "id_number",
     "National ID", "SSN", "Social Security Number", "Bank card", "Card number", "IBAN",
     "Account Number"],
)  # fmt: skip
def test_refused_columns(header: str) -> None:
    hm = map_headers(["姓名", header])
    assert hm.refused == [(1, header)]
    assert 1 not in hm.fields


def test_customer_id_is_not_refused() -> None:
    assert map_headers(["Customer ID", "Name"]).fields == {0: "external_id", 1: "name"}


def test_overrides_win_and_ignore_drops() -> None:
    hm = map_headers(
        ["姓名", "微信号", "电话", "卡号"],
        overrides={"微信号": "notes", "电话": "ignore", "Nope": "notes"},
    )
    assert hm.fields == {0: "name", 1: "notes"}
    assert hm.refused == [(3, "卡号")]
    assert hm.unused_overrides == ["Nope"]


def test_unknown_override_field_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="favourite_colour"):
        map_headers(["姓名"], overrides={"姓名": "favourite_colour"})


def test_interaction_headers() -> None:
    headers = ["客户编号", "跟进时间", "跟进方式", "跟进内容", "结果", "下次跟进"]
    hm = map_headers(headers, kind="interactions")
    assert list(hm.fields.values()) == list(sheets.INTERACTION_FIELDS)
    assert looks_like_interactions(headers)
    assert looks_like_interactions(["Customer", "Date", "Channel", "Summary"])
    assert not looks_like_interactions(["客户编号", "客户名称", "手机", "备注", "下次跟进"])


# --- cells --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        (13812345678.0, "13812345678"),
        (861058123456.0, "861058123456"),
        (123456789012345.0, "123456789012345"),  # 15 digits: still exact
        (12.5, "12.5"),
        (42, "42"),
        (True, "TRUE"),
        (dt.date(2024, 5, 20), "2024-05-20"),
        (dt.datetime(2024, 5, 20), "2024-05-20"),
        (dt.datetime(2024, 5, 20, 9, 30), "2024-05-20T09:30:00"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width digits
        ("张\u00a0伟\u3000", "张 伟"),  # NBSP, ideographic space
        ("\u202a+1 415 555 0134\u202c", "+1 415 555 0134"),  # bidi marks from chat apps
        ("138\u200b1234\u200b5678", "13812345678"),  # zero-width space
        ("  a \t  b\x00\x07 ", "a b"),
        ("line one  \r\n  line two", "line one\nline two"),
    ],
)
def test_cell_text(value: object, expected: str | None) -> None:
    assert cell_text(value) == expected


@given(
    st.text(
        alphabet=st.sampled_from(
            [*"aZ 09-+张伟\xa0\u3000\t\n\r\x1f\u200b\u202aＡ１", "ﬁ", "①", "‾", "\u2028", "\ud800"]
        ),
        max_size=12,
    )
)
def test_fast_clean_str_equals_the_full_clean(text: str) -> None:
    from crmcli.sheet_cells import _clean_any_str, _clean_str

    assert _clean_str(text) == _clean_any_str(text)


def test_cell_text_is_idempotent_on_messy_text() -> None:
    s = cell_text(" Ｒｏｂｅｒｔ\u00a0 Smith\x1f\n\n x ")
    assert s == "Robert Smith\n\nx"
    assert cell_text(s) == s


def test_cell_date() -> None:
    assert cell_date(45432) == dt.date(2024, 5, 20)
    assert cell_date(45432.0) == dt.date(2024, 5, 20)
    assert cell_date("45432") == dt.date(2024, 5, 20)
    assert cell_date(45432.5) == dt.datetime(2024, 5, 20, 12, 0)
    assert cell_date(dt.date(2024, 5, 20)) == dt.date(2024, 5, 20)
    assert cell_date(" 2024/5/20 ") == "2024/5/20"  # text dates are the caller's to parse
    assert cell_date("20240520") == "20240520"
    assert cell_date(13812345678.0) == "13812345678"  # not a serial
    assert cell_date(None) is None


@pytest.mark.parametrize(
    ("value", "lost"),
    [("1.38123E+10", True), ("1.38E+10", True), (" 1,38123e+10 ".replace(",", "."), True),
     ("13812345678", False), (13812345678.0, False), (6.222021001123457e18, True),
     ("E+10", False), (None, False)],
)  # fmt: skip
def test_lost_digits(value: object, lost: bool) -> None:
    assert lost_digits(value) is lost


# --- reading workbooks --------------------------------------------------------------------------


def test_header_found_under_merged_title_and_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws["A1"] = "客户信息登记表 2025"
    ws.merge_cells("A1:D1")
    ws["A2"] = "说明:带*为必填"
    for col, h in enumerate(["序号", "客户名称*", "手机", "备注"], start=1):
        ws.cell(row=4, column=col, value=h)
    ws.append([1, "张伟", 13812345678.0, "x"])
    ws.append([None, None, None, None])
    ws.append([2, "李娜", "+86 139-1234-5678", None])
    ws.cell(row=30, column=2, value=" ")  # a "blank" row far below
    wb.save(path)
    sheet = read_sheet(path)
    assert sheet.header_row == 4
    assert sheet.headers == ["序号", "客户名称*", "手机", "备注"]
    rows = list(sheet.rows)
    assert [n for n, _ in rows] == [5, 7]
    assert cell_text(rows[0][1][2]) == "13812345678"


def test_example_workbook(tmp_path: Path) -> None:
    path = EXAMPLES / "客户信息登记表.xlsx"
    assert sheet_names(path) == ["客户", "跟进记录"]
    sheet = read_sheet(path)
    assert (sheet.sheet_name, sheet.header_row) == ("客户", 3)
    hm = map_headers(sheet.headers)
    assert hm.refused == [(17, "身份证号")]
    rows = list(sheet.rows)
    assert len(rows) == 25
    assert sheet.total_rows is not None and sheet.total_rows >= 25
    log = read_sheet(path, "跟进记录", kind="interactions")
    assert looks_like_interactions(log.headers)
    assert len(list(log.rows)) == 15


def test_first_sheet_with_a_header_is_chosen(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "说明"
    ws["A1"] = "请在第二个工作表填写"
    data = wb.create_sheet("数据")
    data.append(["姓名", "电话"])
    data.append(["张伟", "13812345678"])
    wb.save(path)
    assert read_sheet(path).sheet_name == "数据"
    with pytest.raises(InvalidInput, match="no sheet named"):
        read_sheet(path, "Nope")


def test_openpyxl_streaming_path_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = EXAMPLES / "客户信息登记表.xlsx"
    fast = list(read_sheet(path).rows)
    monkeypatch.setattr(sheets, "CALAMINE_MAX_SHEET_XML", 0)
    slow_sheet = read_sheet(path)
    slow = list(slow_sheet.rows)
    with pytest.raises(InvalidInput, match="no sheet named"):
        read_sheet(path, "Nope")
    assert [n for n, _ in slow] == [n for n, _ in fast]
    for (_, a), (_, b) in zip(slow, fast, strict=True):
        assert [cell_text(x) for x in a] == [cell_text(x) for x in b]


def test_header_without_rows_and_empty_sheet(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no rows"):
        read_sheet(make_xlsx(tmp_path / "h.xlsx", [["Name", "Phone"], [None, None]]))
    with pytest.raises(InvalidInput, match="empty"):
        read_sheet(make_xlsx(tmp_path / "e.xlsx", []))
    with pytest.raises(InvalidInput, match="no recognisable header"):
        read_sheet(make_xlsx(tmp_path / "n.xlsx", [["foo", "bar"], ["1", "2"]]))


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        read_sheet(tmp_path / "missing.xlsx")
    random_bytes = tmp_path / "random.xlsx"
    random_bytes.write_bytes(os.urandom(2048).replace(b"PK", b"pk"))
    with pytest.raises(InputFileError, match=r"random\.xlsx"):
        read_sheet(random_bytes)
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match="empty"):
        read_sheet(empty)
    good = make_xlsx(tmp_path / "good.xlsx", [["Name", "Phone"], ["A", "1"]])
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputFileError, match="truncated"):
        read_sheet(truncated)
    encrypted = tmp_path / "locked.xlsx"  # what Excel writes for a password-protected workbook
    encrypted.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1024)
    with pytest.raises(InputFileError, match="password"):
        read_sheet(encrypted)
    not_a_workbook = tmp_path / "zip.xlsx"
    with zipfile.ZipFile(not_a_workbook, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(InputFileError, match="not a spreadsheet"):
        read_sheet(not_a_workbook)
    pdf = tmp_path / "notes.pdf"
    pdf.write_bytes(b"%PDF-1.4 ...")
    with pytest.raises(InputFileError, match="unsupported"):
        read_sheet(pdf)
    # Content wins over the name: a real workbook saved as .bin still reads.
    assert read_sheet(good.rename(tmp_path / "good.bin")).header_row == 1


def test_corrupt_member_inside_a_valid_zip(tmp_path: Path) -> None:
    good = make_xlsx(tmp_path / "good.xlsx", [["Name", "Phone"], ["A", "1"]])
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("xl/worksheets/"):
                data = data[: len(data) // 2]
            dst.writestr(info, data)
    with pytest.raises(InputFileError, match=r"bad\.xlsx"):
        list(read_sheet(bad).rows)


# --- reading CSV --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8-sig", ","), ("utf-8", ";"), ("gb18030", "\t"), ("gb18030", ","), ("utf-8", "|")],
)
def test_csv_encodings_and_delimiters(tmp_path: Path, encoding: str, delimiter: str) -> None:
    lines = [
        ["客户信息登记表", "", ""],
        ["客户名称", "手机", "备注"],
        ["张伟", "13812345678", "需求, 含逗号"],
        ["", "", ""],
        ["李娜", "1.38123E+10", "王芳；说明"],
    ]
    buf = io.StringIO()
    import csv

    csv.writer(buf, delimiter=delimiter).writerows(lines)
    path = tmp_path / "c.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    sheet = read_sheet(path)
    assert sheet.sheet_name is None and sheet.header_row == 2
    assert sheet.headers == ["客户名称", "手机", "备注"]
    rows = list(sheet.rows)
    assert rows == [
        (3, ["张伟", "13812345678", "需求, 含逗号"]),
        (5, ["李娜", "1.38123E+10", "王芳；说明"]),
    ]
    assert lost_digits(rows[1][1][1])


def test_example_csv_flags_lost_digits() -> None:
    sheet = read_sheet(EXAMPLES / "customers-en.csv")
    assert sheet.header_row == 3
    phones = [i for i, f in map_headers(sheet.headers).fields.items() if f == "phones"]
    flagged = [n for n, row in sheet.rows if any(lost_digits(row[i]) for i in phones)]
    assert flagged == [9]


def test_csv_edge_cases(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInput, match="empty"):
        read_sheet(empty)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"Name,Phone\n\x00\x01\x02")
    with pytest.raises(InputFileError):
        read_sheet(binary)
    tsv = tmp_path / "t.tsv"
    tsv.write_text("Name\tPhone\nA, B\t1\n", encoding="utf-8")
    assert list(read_sheet(tsv).rows) == [(2, ["A, B", "1"])]
    assert sheet_names(tsv) == []


# --- writing ------------------------------------------------------------------------------------


def test_write_xlsx_makes_a_workbook_a_person_would(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    rows: list[list[object]] = [
        ["C1", "张伟", 13812345678.0, dt.date(2024, 5, 20), '=HYPERLINK("http://evil","x")'],
        ["C2", "Bob\x07 Smith", "+1 415-555-0134", "2024-05-21", "@SUM(1)"],
        ["C3", "Ann", None, dt.datetime(2024, 5, 22, 9, 30), "-2+3"],
    ]
    write_xlsx(path, [SheetSpec("客户", ["external_id", "name", "phones", "first_contact_on",
                                       "notes"], rows, {"phones", "external_id"},
                                {"first_contact_on"})])  # fmt: skip
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]  # no temp file left behind
    wb = openpyxl.load_workbook(path)
    ws = wb["客户"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:E4"
    assert all(c.font.b for c in ws[1])
    assert 8 <= ws.column_dimensions["B"].width <= 50
    assert ws["C2"].value == "13812345678" and ws["C2"].data_type == "s"
    assert ws["C2"].number_format == "@"
    assert ws["D2"].value == dt.datetime(2024, 5, 20) and ws["D2"].number_format == "yyyy-mm-dd"
    assert ws["D3"].value == dt.datetime(2024, 5, 21)  # ISO text in a date column became a date
    assert ws["B3"].value == "Bob Smith"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert ws["E2"].value.startswith("=HYPERLINK") and ws["E2"].quotePrefix
    assert ws["E3"].quotePrefix and ws["E4"].quotePrefix


def test_write_xlsx_column_widths_count_cjk_double(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    write_xlsx(path, [SheetSpec("s", ["a", "b", "c"], [["x" * 10, "中" * 10, "y" * 300]])])
    ws = openpyxl.load_workbook(path).active
    assert ws is not None
    assert ws.column_dimensions["B"].width > ws.column_dimensions["A"].width
    assert ws.column_dimensions["C"].width == 50


def test_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "keep.xlsx"
    path.write_bytes(b"old")

    def boom() -> object:
        yield ["a"]
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_xlsx(path, [SheetSpec("s", ["name"], boom())])  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.xlsx"]


def test_write_csv_neutralises_formulas_keeps_phones(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ['=HYPERLINK("http://evil","x")', "+86 138-1234-5678", -12.5, dt.date(2024, 5, 20)],
        ["@cmd", "-12.5", 13812345678.0, dt.datetime(2024, 5, 20, 9, 30)],
        ["+1+cmd|' /C calc'!A0", "(415) 555-0134", None, "\tx"],
        ["+8613812345678; +14155550134", "-1;SUM(A1)", "+1; =1+1", None],
    ]
    path = tmp_path / "out.csv"
    write_csv(path, ["a", "b", "c", "d"], rows)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines() == [
        "a,b,c,d",
        '"\'=HYPERLINK(""http://evil"",""x"")",+86 138-1234-5678,-12.5,2024-05-20',
        "'@cmd,-12.5,13812345678,2024-05-20T09:30:00",
        "'+1+cmd|' /C calc'!A0,(415) 555-0134,,'\tx",
        "+8613812345678; +14155550134,'-1;SUM(A1),'+1; =1+1,",  # a list of phones stays as is
    ]
    stream = io.StringIO()
    write_csv(stream, ["名字"], [["张伟"]])
    assert stream.getvalue() == "名字\n张伟\n"


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "rt.xlsx"
    rows = [[f"C{i}", f"客户{i}", 13800000000.0 + i, dt.date(2024, 1, 1)] for i in range(50)]
    write_xlsx(path, [SheetSpec("c", ["external_id", "name", "phones", "first_contact_on"], rows,
                                {"phones"})])  # fmt: skip
    back = list(read_sheet(path).rows)
    assert back[0] == (2, ["C0", "客户0", "13800000000", dt.date(2024, 1, 1)])
    assert len(back) == 50


_CELL_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("=+-@\t\r\n\x00\x07\x1b\u00a0\u3000\u200b\u202e") + list("😀ש中")),
    ),
    max_size=30,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cells=st.lists(_CELL_TEXT, min_size=1, max_size=5))
def test_hypothesis_xlsx_round_trip(tmp_path: Path, cells: list[str]) -> None:
    path = tmp_path / "h.xlsx"
    rows = [["anchor", c] for c in cells]
    write_xlsx(path, [SheetSpec("s", ["name", "notes"], rows)])
    back = list(read_sheet(path).rows)
    assert [cell_text(r[1]) for _, r in back] == [cell_text(c) for c in cells]


def test_write_xlsx_escapes_text_shaped_like_rich_text_markup(tmp_path: Path) -> None:
    # XlsxWriter's constant_memory mode copies a string of the form <r>...</r> into the sheet XML
    # unescaped (it takes it for its own rich text): user text must never reach the file raw.
    path = tmp_path / "m.xlsx"
    evil = ["<r><t>x</t></r>", "<r></t></is></c></row><row>x</r>", "<r>=1+1</r>", "_x0041_"]
    write_xlsx(path, [SheetSpec("History", ["name", "notes"], [["a", v] for v in evil], {"name"})])
    assert [cell_text(r[1]) for _, r in read_sheet(path).rows] == evil
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["History (2)"]  # Excel reserves "History"
    ws = wb.active
    assert ws is not None
    assert [ws.cell(row=i, column=2).value for i in range(2, 5)] == evil[:3]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_write_xlsx_types_plain_values(tmp_path: Path) -> None:
    path = tmp_path / "v.xlsx"
    rows: list[list[object]] = [[1, 2.5, True, ["a", "b"], "x\x00y", None, "2024-05-20"]]
    write_xlsx(path, [SheetSpec("s", list("abcdefg"), rows, date_columns={"g"})])
    ws = openpyxl.load_workbook(path).active
    assert ws is not None
    assert [c.value for c in ws[2]] == [1, 2.5, True, "a; b", "xy", None, dt.datetime(2024, 5, 20)]
    assert ws["G2"].number_format == "yyyy-mm-dd"
