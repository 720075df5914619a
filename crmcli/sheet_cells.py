"""Cleaning single spreadsheet cells the way Excel mangles them: pure functions, no I/O.

Float phones (13812345678.0), serial dates (45432), full-width digits, NBSP and ideographic
spaces, zero-width and bidi marks pasted from chat apps, and scientific notation that has eaten
digits. Used by the readers in `crmcli/sheets.py` (which re-exports these) and by the import layer.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal

# C0/C1 controls go (tab becomes a space, newlines stay). Zero-width space, word joiner, BOM and
# the bidi embedding/override/isolate marks are removed rather than turned into spaces: they
# arrive around phone numbers copied from chat apps ("\u202a+1 415…\u202c") and inside names,
# where a space would split the value in two. ZWJ/ZWNJ stay (emoji sequences, Persian, Indic).
_DROP: dict[int, str | None] = {c: None for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)]}
_DROP.update({ord("\t"): " ", ord("\n"): "\n", ord("\r"): "\n"})
_DROP.update({c: None for c in (0x200B, 0x200E, 0x200F, 0x2060, 0xFEFF, 0xFFFE, 0xFFFF)})
_DROP.update({c: None for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]})
_SPACES_RE = re.compile(r"[^\S\n]+")  # any whitespace except newline (NFKC leaves a few)
_AROUND_NL_RE = re.compile(r" *\n *")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# Scientific notation in a *text* cell: Excel displayed a long number that way and someone
# saved or typed the display, so the digits after the mantissa are gone for good.
_SCI_RE = re.compile(r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+")
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 with Lotus's leap-year bug folded in
_SERIAL_MIN, _SERIAL_MAX = 20000, 80000  # 1954-10-03 .. 2119-01-10: anything else is not a date
_SERIAL_TEXT_RE = re.compile(r"\d{5}(?:\.\d+)?")


def _clean_str(s: str) -> str | None:
    # Fast path: most cells are printable (19M calls at 1M rows). Printable text has no control,
    # format, surrogate or separator character but the ASCII space, so of the work below only
    # NFKC and collapsing spaces apply, when NFKC's result is printable too.
    if s.isprintable():
        if s.isascii():
            return (s.strip() if "  " not in s else " ".join(s.split())) or None
        folded = unicodedata.normalize("NFKC", s)
        if folded.isprintable():
            return " ".join(folded.split()) or None
    return _clean_any_str(s)


def _clean_any_str(s: str) -> str | None:
    """`_clean_str` for every string (the fast path's reference)."""
    if "\r\n" in s:
        s = s.replace("\r\n", "\n")
    s = unicodedata.normalize("NFKC", s).translate(_DROP)
    s = _SURROGATE_RE.sub("", s)
    s = _SPACES_RE.sub(" ", s)
    s = _AROUND_NL_RE.sub("\n", s).strip(" \n")
    return s or None


def cell_text(value: object) -> str | None:
    """One cell as clean text, or None when it is blank.

    Integral floats lose their ".0" (Excel stores 13812345678 as a float; exact up to 15 digits),
    dates become ISO strings (a midnight datetime becomes a date), strings are NFKC-normalised
    (full-width digits, NBSP and ideographic spaces), stripped of control characters and of
    repeated spaces; newlines inside a cell are kept.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return _clean_str(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # what Excel shows
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):  # calamine returns durations for [h]:mm cells
        return str(value)
    return _clean_str(str(value))


def cell_date(value: object) -> object:
    """A date-ish cell: date/datetime pass, Excel serial numbers become dates, text is cleaned.

    Serials are accepted as numbers and as 5-digit text (a CSV saved from a date column whose
    format was lost). Text dates ("2024/5/20", "2024年5月20日") are left to the caller to parse.
    """
    if isinstance(value, dt.date):  # datetime is a date too
        return value
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        text = cell_text(value)
        if text is None or not _SERIAL_TEXT_RE.fullmatch(text):
            return text
        number = float(text)
    else:
        return cell_text(value)
    if not _SERIAL_MIN <= number <= _SERIAL_MAX:
        return cell_text(value)
    day = _EXCEL_EPOCH + dt.timedelta(days=int(number))
    fraction = number - int(number)
    if fraction == 0:
        return day
    seconds = round(fraction * 86400)
    return dt.datetime.combine(day, dt.time(0)) + dt.timedelta(seconds=seconds)


def lost_digits(value: object) -> bool:
    """True when a long number has lost digits for good.

    That is text like "1.38123E+10" (Excel's display of a float, saved as text), or a float of
    16+ digits (a bank card or ID number typed into a number cell: Excel keeps only 15).
    """
    if isinstance(value, float):
        return value.is_integer() and abs(value) >= 1e15
    if isinstance(value, str):
        if value.isascii() and "e" not in value and "E" not in value:
            return False  # cleaning ASCII adds no letter: no exponent (the common case)
        text = cell_text(value)
        return text is not None and _SCI_RE.fullmatch(text) is not None
    return False
