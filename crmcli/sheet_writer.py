"""Writing spreadsheets: workbooks (XlsxWriter, constant memory) and CSVs that are safe to open.

Split out of `crmcli/sheets.py` (which re-exports it): reading finds and maps messy input,
writing makes a clean file a person would make, with no formula injection and never a
half-written file. XlsxWriter is imported inside the function that writes (a CLI start must
not pay for it); openpyxl stays the reader (crmcli/sheets.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from crmcli.sheet_cells import cell_text

# OWASP CSV-injection advice: a cell starting with one of these may run as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START_CHARS = "".join(_FORMULA_START)
# ...unless it is plainly a number or phone, or a "; "-separated list of them (a customer's
# phones): digits, spaces, dots, dashes, parentheses, signs and semicolons can only make
# arithmetic (or an error), never a function call, reference or DDE link.
_PLAIN_NUMBER_RE = re.compile(r"[+-]?[\d .()-]+(?:;[ ]?[+-]?[\d .()-]+)*")
# openpyxl refuses these (XML 1.0 cannot hold them); we also drop U+FFFE/U+FFFF and lone
# surrogates, which would make the file unreadable.
_XML_ILLEGAL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_MAX_WIDTH = 50
_WIDTH_SAMPLE_ROWS = 200


def _is_formula_like(text: str) -> bool:
    return text.startswith(_FORMULA_START) and not _PLAIN_NUMBER_RE.fullmatch(text)


@dataclass
class SheetSpec:
    """One sheet to write: columns, rows (any iterable, streamed) and how to type the cells."""

    name: str
    columns: list[str]
    rows: Iterable[Sequence[object]]
    text_columns: set[str] | frozenset[str] = field(default_factory=frozenset)
    date_columns: set[str] | frozenset[str] = field(default_factory=frozenset)


def _display_width(value: object) -> int:
    text = value if isinstance(value, str) else cell_text(value) or ""
    if isinstance(value, dt.date):
        return 16 if isinstance(value, dt.datetime) else 10
    width = 0
    for line in text.split("\n"):
        w = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        width = max(width, w)
    return width


def _as_excel_date(value: object) -> object:
    """Dates for a date column: ISO strings become real dates, aware datetimes become UTC."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = dt.datetime.fromisoformat(value.strip())
            has_time = parsed.time() != dt.time(0) or parsed.tzinfo is not None
            value = parsed if has_time else parsed.date()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)  # Excel has no time zones
    return value


def _flatten(value: object) -> object:
    if isinstance(value, list | tuple | set | frozenset):
        return "; ".join(t for t in (cell_text(v) for v in value) if t)
    return value


def _sheet_title(name: str, taken: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'")[:31] or "Sheet"
    base, n = title, 2
    taken.add("history")  # Excel reserves it
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write to a temp file beside `path`, then rename over it: never a half-written file."""
    import tempfile

    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a saved file gets the usual mode
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_xlsx(path: Path, sheets: Sequence[SheetSpec]) -> None:
    """Write a workbook a person would make, atomically and streamed (XlsxWriter, constant memory).

    Bold, frozen, filterable header; widths from the first 200 rows (CJK counts double, capped
    at 50); dates as real dates (yyyy-mm-dd); text_columns as text cells with the "@" format so
    Excel never turns a phone into 1.38123E+10; every string is written as a string (never a
    formula), and one that looks like a formula gets the quote prefix so it stays text when
    edited; control characters Excel cannot hold are dropped.
    """
    # Writer choice, measured at 100k rows x 12 columns (FINDINGS.md, idle machine): openpyxl
    # write-only 11.6-12.2 s, XlsxWriter constant_memory 7.9 s at 98 MB; with our per-cell styling
    # openpyxl fell further behind (every text/date cell a styled WriteOnlyCell). constant_memory
    # streams each row to a temp file: memory stays flat however many rows.
    import xlsxwriter

    def build(target: Path) -> None:
        workbook = xlsxwriter.Workbook(
            str(target), {"constant_memory": True, "tmpdir": str(target.parent)}
        )
        try:
            styles = _Styles(workbook)
            taken: set[str] = set()
            for spec in sheets:
                _write_sheet(workbook.add_worksheet(_sheet_title(spec.name, taken)), spec, styles)
            if not sheets:
                workbook.add_worksheet("Sheet")
        except BaseException:
            _discard(workbook)
            raise
        workbook.close()

    _atomic_write(Path(path), build)


def _discard(workbook: Any) -> None:
    """Remove the row files of a workbook that will never be closed (constant_memory temps)."""
    for ws in workbook.worksheets():
        fh = getattr(ws, "row_data_fh", None)
        name = getattr(ws, "row_data_filename", None)
        if fh is not None:
            fh.close()
        if name:
            with contextlib.suppress(OSError):
                os.unlink(name)


class _Styles:
    """The few cell formats a sheet uses, made once per workbook."""

    def __init__(self, workbook: Any) -> None:
        self.header = workbook.add_format({"bold": True})
        self.header_quoted = workbook.add_format({"bold": True, "quote_prefix": True})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.text = workbook.add_format({"num_format": "@"})
        self.text_quoted = workbook.add_format({"num_format": "@", "quote_prefix": True})
        self.quoted = workbook.add_format({"quote_prefix": True})
        self.plain = workbook.add_format({"font_name": "Calibri"})  # rich-string fragments


def _write_sheet(ws: Any, spec: SheetSpec, styles: _Styles) -> None:
    ncols = len(spec.columns)
    text_idx = {i for i, c in enumerate(spec.columns) if c in spec.text_columns}
    date_idx = {i for i, c in enumerate(spec.columns) if c in spec.date_columns}
    head: list[Sequence[object]] = []
    source = iter(spec.rows)
    for row in source:
        head.append(row)
        if len(head) >= _WIDTH_SAMPLE_ROWS:
            break
    widths = [_display_width(c) for c in spec.columns]
    for row in head:
        for i, value in enumerate(row[:ncols]):
            widths[i] = max(widths[i], _display_width(_flatten(value)))
    for i, w in enumerate(widths):
        # In pixels (7 per character of the default font): XlsxWriter then stores exactly this
        # width, where set_column would add its own padding.
        ws.set_column_pixels(i, i, 7 * min(max(w + 2, 8), _MAX_WIDTH))
    ws.freeze_panes(1, 0)
    for i, name in enumerate(spec.columns):
        name = _XML_ILLEGAL_RE.sub("", name)
        style = styles.header_quoted if _is_formula_like(name) else styles.header
        _write_string(ws, 0, i, name, style, styles)
    # Per column: 0 plain, 1 text, 2 date (a date column's strings may become dates).
    kinds = [2 if i in date_idx else 1 if i in text_idx else 0 for i in range(max(ncols, 1))]
    number = 0
    for rows in (head, source):
        for row in rows:
            number += 1
            for i, value in enumerate(row):
                if value is not None:
                    _write_cell(ws, number, i, value, kinds[i] if i < ncols else 0, styles)
    if ncols:
        ws.autofilter(0, 0, number, ncols - 1)


def _write_cell(ws: Any, r: int, c: int, value: object, kind: int, styles: _Styles) -> None:
    """One value as a typed cell: str, number, bool or date; a string is never a formula."""
    if type(value) is str:  # the common case first
        if kind == 2:
            value = _as_excel_date(value)
            if not isinstance(value, str):
                _write_date(ws, r, c, value, styles)
                return
    else:
        value = _flatten(value)
        if isinstance(value, dt.date):
            _write_date(ws, r, c, _as_excel_date(value), styles)
            return
        if value is None:
            return
        if kind == 1 or not isinstance(value, str):
            if kind != 1 and isinstance(value, bool):
                ws.write_boolean(r, c, value)
                return
            if kind != 1 and isinstance(value, int | float) and math.isfinite(value):
                ws.write_number(r, c, value)
                return
            value = cell_text(value)  # 13812345678.0 -> "13812345678", never a number cell
            if value is None:
                return
    assert isinstance(value, str)
    if not value.isprintable():
        value = _XML_ILLEGAL_RE.sub("", value)
    if not value:
        return  # an empty string is a blank cell, as Excel and openpyxl read it back (None)
    if value and value[0] in _FORMULA_START_CHARS and _is_formula_like(value):
        style = styles.text_quoted if kind == 1 else styles.quoted
    else:
        style = styles.text if kind == 1 else None
    _write_string(ws, r, c, value, style, styles)


def _write_date(ws: Any, r: int, c: int, value: Any, styles: _Styles) -> None:
    has_time = isinstance(value, dt.datetime) and value.time() != dt.time(0)
    ws.write_datetime(r, c, value, styles.moment if has_time else styles.date)


def _write_string(ws: Any, r: int, c: int, value: str, style: Any, styles: _Styles) -> None:
    if value.startswith("<r>") and value.endswith("</r>"):
        # XlsxWriter (constant_memory) passes a string shaped like its own rich-text markup to
        # the file unescaped; written as a two-run rich string it is escaped like any other.
        ws.write_rich_string(r, c, styles.plain, value[:1], value[1:], *([style] if style else []))
    else:
        ws.write_string(r, c, value, style)


def _csv_value(value: object) -> str:
    value = _flatten(value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = value if isinstance(value, str) else str(value)
    if _is_formula_like(text):
        return "'" + text  # OWASP: a leading quote makes Excel show the text instead of running it
    return text


def write_csv(
    path_or_stream: Path | str | IO[str],
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    delimiter: str = ",",
) -> None:
    """Write a CSV: to a file as UTF-8 with BOM (so Excel reads Chinese) and CRLF, atomically;
    to a text stream as plain UTF-8 with LF (for pipes).

    Dates are ISO. A value starting with = + - @ tab or CR gets a leading ' so a spreadsheet
    never runs it, except plain numbers and phones ("-12.5", "+86 138-1234-5678") which match
    ^[+-]?[\\d .()-]+$ and can only ever be arithmetic.
    """
    import csv

    def emit(fh: IO[str], lineterminator: str) -> None:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator=lineterminator)
        writer.writerow([_csv_value(c) for c in columns])
        for row in rows:
            writer.writerow([_csv_value(v) for v in row])

    if isinstance(path_or_stream, str | os.PathLike):

        def build(target: Path) -> None:
            with target.open("w", encoding="utf-8-sig", newline="") as fh:
                emit(fh, "\r\n")

        _atomic_write(Path(path_or_stream), build)
    else:
        emit(path_or_stream, "\n")
