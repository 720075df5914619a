"""Spreadsheets in and out: the only module that touches openpyxl, python-calamine and CSV files.

It owns reading a workbook or CSV into raw rows (finding the header row under title rows),
cleaning single cells the way Excel mangles them (float phones, serial dates, full-width digits,
NBSP), and writing workbooks and CSVs that are safe to open (no formula injection). Header
synonyms and mapping live in `crmcli/sheet_headers.py` and are re-exported here.

Cell cleaning lives in `crmcli/sheet_cells.py` and writing in `crmcli/sheet_writer.py`; both are
re-exported, so the rest of crmcli imports from here only. Pure I/O and mapping: no database,
no Typer, no Rich. openpyxl costs 105-165 ms to import, so
every spreadsheet library (and csv) is imported inside the function that needs it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from crmcli.errors import InputFileError, InvalidInput
from crmcli.sheet_cells import cell_date, cell_text, lost_digits
from crmcli.sheet_headers import (
    FIELDS,
    INTERACTION_FIELDS,
    REFUSED_HEADERS,
    HeaderMap,
    header_score,
    is_refused_header,
    looks_like_interactions,
    map_headers,
    normalize_header,
)
from crmcli.sheet_writer import SheetSpec, write_csv, write_xlsx

__all__ = [
    "FIELDS",
    "INTERACTION_FIELDS",
    "REFUSED_HEADERS",
    "HeaderMap",
    "Sheet",
    "SheetSpec",
    "cell_date",
    "cell_text",
    "header_score",
    "is_refused_header",
    "looks_like_interactions",
    "lost_digits",
    "map_headers",
    "normalize_header",
    "read_sheet",
    "sheet_names",
    "write_csv",
    "write_xlsx",
]

# ---------------------------------------------------------------------------------------------
# Reading

_WORKBOOK_EXTS = {".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods"}
_TEXT_EXTS = {".csv", ".tsv", ".txt", ".tab"}
_HEADER_SCAN_ROWS = 20
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Reader choice, measured on 100k and 400k rows x 12 mixed columns (2 cores, this venv):
#   python-calamine: 100k rows 1.4 s (69k rows/s), 130 MB peak; 400k rows 7.5 s, 478 MB peak.
#   openpyxl read-only: 100k rows 31 s (3.2k rows/s), 33 MB peak, flat (it streams).
# Calamine loads the whole sheet: its peak grows ~1.6 MB per MB of uncompressed sheet XML
# (70 MB XML -> 130 MB, 284 MB XML -> 478 MB), so a 1M-row sheet would need ~1.65 GB. The
# uncompressed XML size (free to read from the zip directory) predicts memory far better than the
# file size, whose compression ratio varies 4-12x. At 160 MB of XML calamine peaks near 280 MB
# (~230k rows of 12 columns, a ~15 MB file); above it we stream with openpyxl, ~20x slower but
# flat in memory, which keeps a 1M-row import well under 1 GB.
CALAMINE_MAX_SHEET_XML = 160 * 1024 * 1024


@dataclass
class Sheet:
    """One sheet opened for reading; `rows` streams (excel row number, raw values) pairs."""

    path: Path
    sheet_name: str | None
    header_row: int  # 1-based, as Excel shows it
    headers: list[str]
    rows: Iterator[tuple[int, list[object]]]
    total_rows: int | None = None  # data rows below the header, when cheaply known (upper bound)


def _fail(path: Path, why: str) -> InputFileError:
    return InputFileError(f"{path.name}: {why}")


def _sniff_format(path: Path) -> str:
    """'xlsx' (openpyxl or calamine), 'calamine' (xls/xlsb/ods) or 'csv', by content and name."""
    suffix = path.suffix.lower()
    try:
        if path.is_dir():
            raise _fail(path, "is a directory, not a spreadsheet")
        with path.open("rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise InputFileError(f"{path}: file not found") from None
    except PermissionError:
        raise _fail(path, "permission denied") from None
    except OSError as exc:
        raise _fail(path, f"cannot read ({exc.strerror or exc})") from None
    if head.startswith(b"PK"):
        import zipfile

        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, EOFError):
            raise _fail(path, "damaged or truncated workbook (not a valid zip)") from None
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "xl/workbook.bin" in names or "content.xml" in names:
            return "calamine"
        raise _fail(path, "not a spreadsheet (a zip file without a workbook)")
    if head == _OLE_MAGIC:
        if suffix in {".xls", ".xlt"}:
            return "calamine"
        # Excel saves a password-protected .xlsx as an encrypted OLE container, not a zip.
        raise _fail(path, "password-protected (encrypted) workbook; save it without a password")
    if suffix in _TEXT_EXTS:
        return "csv"
    if not head:
        raise _fail(path, "empty file, not a spreadsheet")
    if suffix in _WORKBOOK_EXTS:
        raise _fail(path, f"not a {suffix} workbook (damaged, or another kind of file)")
    raise _fail(
        path, f"unsupported file type {suffix or '(none)'!r}; use .xlsx, .xls, .ods or .csv"
    )


def _largest_sheet_xml(path: Path) -> int:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        sizes = [i.file_size for i in zf.infolist() if i.filename.startswith("xl/worksheets/")]
    return max(sizes, default=0)


def _workbook_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean 'this workbook is damaged', whichever reader raised them."""
    import zipfile
    import zlib
    from xml.etree.ElementTree import ParseError

    import python_calamine

    return (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        KeyError,
        ValueError,
        TypeError,
        ParseError,
        python_calamine.CalamineError,
    )


def sheet_names(path: Path) -> list[str]:
    """The workbook's sheet names in order; [] for a CSV (it has one unnamed sheet)."""
    path = Path(path)
    fmt = _sniff_format(path)
    if fmt == "csv":
        return []
    import python_calamine

    errors = _workbook_errors()
    try:
        # Calamine reads only the workbook part here, and imports in ~11 ms against openpyxl's ~130.
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        try:
            return list(workbook.sheet_names)
        finally:
            workbook.close()
    except python_calamine.PasswordError:
        raise _fail(path, "password-protected workbook; save it without a password") from None
    except errors as exc:
        raise _fail(path, f"damaged workbook ({type(exc).__name__})") from None


RawRows = Iterator[tuple[int, list[object]]]


def _calamine_rows(path: Path, sheet: str | None, index: int) -> tuple[str, RawRows, int | None]:
    import python_calamine

    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    ws = (
        workbook.get_sheet_by_name(sheet)
        if sheet is not None
        else workbook.get_sheet_by_index(index)
    )
    left = ws.start[1] if ws.start else 0  # iter_rows starts at row 1 but at the first used column

    def rows() -> RawRows:
        pad: list[object] = [None] * left
        for number, row in enumerate(ws.iter_rows(), start=1):
            # calamine gives "" for an empty cell; openpyxl gives None: settle on None.
            yield number, pad + [None if v == "" else v for v in row]
        workbook.close()

    last_row = ws.end[0] + 1 if ws.end else None  # end is 0-based (row, column)
    return ws.name, rows(), last_row


def _openpyxl_rows(path: Path, sheet: str | None, index: int) -> tuple[str, RawRows, int | None]:
    import openpyxl

    # data_only: formulas give their cached value (none if the file was written by openpyxl).
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    if sheet is not None and sheet not in workbook.sheetnames:
        workbook.close()
        raise InvalidInput(f"{path.name}: no sheet named {sheet!r}")
    ws = workbook[sheet] if sheet is not None else workbook.worksheets[index]
    total = getattr(ws, "max_row", None)
    if hasattr(ws, "reset_dimensions"):
        # Some writers store a wrong <dimension> (often "A1"); trusting it would truncate the sheet.
        ws.reset_dimensions()

    def rows() -> RawRows:
        try:
            for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
                yield number, list(row)
        finally:
            workbook.close()

    return ws.title, rows(), total


def _guarded(path: Path, rows: RawRows) -> RawRows:
    """Turn a damaged part found halfway through a streamed sheet into InputFileError."""
    errors = _workbook_errors()
    try:
        yield from rows
    except errors as exc:
        raise _fail(path, f"damaged workbook ({type(exc).__name__})") from None


def _open_rows(
    path: Path, fmt: str, sheet: str | None, index: int
) -> tuple[str, RawRows, int | None]:
    import python_calamine

    errors = _workbook_errors()
    try:
        if fmt == "xlsx" and _largest_sheet_xml(path) > CALAMINE_MAX_SHEET_XML:
            name, rows, total = _openpyxl_rows(path, sheet, index)
        else:
            name, rows, total = _calamine_rows(path, sheet, index)
    except python_calamine.WorksheetNotFound:
        raise InvalidInput(f"{path.name}: no sheet named {sheet!r}") from None
    except python_calamine.PasswordError:
        raise _fail(path, "password-protected workbook; save it without a password") from None
    except errors as exc:
        raise _fail(path, f"damaged workbook ({type(exc).__name__})") from None
    return name, _guarded(path, rows), total


def _decode_plan(path: Path) -> str:
    """The encoding of a text file: utf-8-sig / utf-16 by BOM, else utf-8, else gb18030.

    Chinese Excel saves "CSV" as GB18030 (ANSI); a whole-file utf-8 check (incremental, ~1 GB/s)
    avoids deciding on a prefix and failing on row 90,000.
    """
    import codecs

    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"  # Excel's "Unicode text" export
        fh.seek(0)
        for candidate in ("utf-8", "gb18030"):
            decoder = codecs.getincrementaldecoder(candidate)()
            try:
                while chunk := fh.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
                return candidate
            except UnicodeDecodeError:
                fh.seek(0)
    raise _fail(path, "not a text file in UTF-8 or GB18030")


def _sniff_delimiter(sample: str, suffix: str) -> str:
    """Of , ; tab |, the one that splits the sample's lines most (ties go to the comma)."""
    import csv

    if suffix in {".tsv", ".tab"}:
        return "\t"
    lines = sample.splitlines()[:50]
    best, best_score = ",", 0
    for delimiter in (",", ";", "\t", "|"):
        score = sum(len(r) - 1 for r in csv.reader(lines, delimiter=delimiter))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_rows(path: Path) -> RawRows:
    import csv
    import sys

    encoding = _decode_plan(path)
    csv.field_size_limit(min(sys.maxsize, 1 << 30))  # a long notes cell must not kill the import
    with path.open(encoding=encoding, newline="") as fh:
        if "\x00" in (sample := fh.read(64 * 1024)):
            raise _fail(path, "not a text file (it contains NUL bytes)")
        delimiter = _sniff_delimiter(sample, path.suffix.lower())
        fh.seek(0)
        try:
            for number, row in enumerate(csv.reader(fh, delimiter=delimiter), start=1):
                yield number, [v if v else None for v in row]
        except csv.Error as exc:
            raise _fail(path, f"malformed CSV ({exc})") from None


def _is_blank(row: Sequence[object]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def _find_header(path: Path, rows: RawRows, kind: str) -> tuple[int, list[str], RawRows]:
    """The header row among the first rows: the one with most cells mapping to fields."""
    buffered: list[tuple[int, list[object]]] = []
    for item in rows:
        buffered.append(item)
        if len(buffered) >= _HEADER_SCAN_ROWS:
            break
    if all(_is_blank(r) for _, r in buffered):
        raise InvalidInput(f"{path.name}: the sheet is empty")
    best, best_score = -1, 0
    for position, (_, row) in enumerate(buffered):
        score = header_score([cell_text(v) or "" for v in row], kind)
        if score > best_score:
            best, best_score = position, score
    if best < 0:
        what = "客户编号/姓名/手机" if kind == "customers" else "客户/跟进时间/跟进内容"
        raise InvalidInput(
            f"{path.name}: no recognisable header row in the first {_HEADER_SCAN_ROWS} rows "
            f"(expected columns like {what}, or Name/Phone/Email)"
        )
    number, header_cells = buffered[best]
    headers = [cell_text(v) or "" for v in header_cells]
    while headers and not headers[-1]:
        headers.pop()

    def rest() -> RawRows:
        yield from buffered[best + 1 :]
        yield from rows

    return number, headers, rest()


def _data_rows(rows: RawRows, width: int) -> RawRows:
    for number, row in rows:
        if _is_blank(row):
            continue  # blank separator rows and the empty tail Excel leaves behind
        if len(row) < width:
            row = row + [None] * (width - len(row))
        yield number, row


def _read_one(path: Path, fmt: str, sheet: str | None, index: int, kind: str) -> Sheet:
    total: int | None
    if fmt == "csv":
        name, raw, total = None, _csv_rows(path), None
    else:
        name, raw, total = _open_rows(path, fmt, sheet, index)
    header_row, headers, rest = _find_header(path, raw, kind)
    data = _data_rows(rest, len(headers))
    first = next(data, None)
    if first is None:
        raise InvalidInput(f"{path.name}: header found on row {header_row} but no rows below it")

    def rows() -> RawRows:
        yield first
        yield from data

    total_rows = max(total - header_row, 1) if total else None
    return Sheet(path, name, header_row, headers, rows(), total_rows)


def read_sheet(path: Path, sheet: str | None = None, *, kind: str = "customers") -> Sheet:
    """Open one sheet of a workbook or CSV and find its header row.

    `sheet` None picks the first sheet with a recognisable header (skipping empty and
    instruction sheets). Raises InputFileError for missing, unreadable, damaged, truncated or
    password-protected files and InvalidInput for an empty sheet, no header, or no rows.
    """
    path = Path(path)
    fmt = _sniff_format(path)
    if fmt == "csv" or sheet is not None:
        return _read_one(path, fmt, sheet, 0, kind)
    first_error: InvalidInput | None = None
    for index in range(max(1, len(sheet_names(path)))):
        try:
            return _read_one(path, fmt, None, index, kind)
        except InvalidInput as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error
