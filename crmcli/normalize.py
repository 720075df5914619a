"""Normalisation of what a user types or a spreadsheet holds: text, phones, emails, dates, enums.

This module owns the one canonical form of every input value, so that the CLI, the importer and
the models all agree on what "the same value" means. It is pure: no I/O, no database. A value that
cannot be understood raises `InvalidInput` with a one-line message saying what was expected.

Heavy libraries (phonenumbers) are imported inside the functions that need them: scripts call
crmcli thousands of times and must not pay for them on every start.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from crmcli.errors import InvalidInput

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

STATUSES = ("lead", "prospect", "customer", "lost")  # order = funnel order
STATUS_LABELS_ZH = {
    "lead": "潜在客户",
    "prospect": "意向客户",
    "customer": "成交客户",
    "lost": "流失客户",
}
GRADES = ("A", "B", "C")
KINDS = ("person", "company")
CHANNELS = ("call", "email", "meeting", "message", "visit", "note")
GENDERS = ("male", "female", "other")

# ---------------------------------------------------------------------------------------------
# Text

# Invisible characters that sneak in from web pages and chat apps; they are deleted rather than
# turned into spaces, because "138\u200b1234" was meant as one number.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_LINE_BREAKS = re.compile(r"\r\n|[\r\u2028\u2029\x0b\x0c\x85]")
_SPACES = re.compile(r"[^\S\n]+")


def _scrub(text: str, multiline: bool) -> str:
    if text.isprintable():
        # No control, format or separator characters but the ASCII space: nothing to scrub.
        # (Most cells; the per-character loop below costs ~10 us a call.)
        return text
    text = _LINE_BREAKS.sub("\n", text.translate(_INVISIBLE))
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\n" if multiline else " ")
        elif ch == "\t":
            out.append(" ")
        else:
            cat = unicodedata.category(ch)
            if cat == "Cc" or cat == "Cf":
                continue
            out.append(" " if cat[0] == "Z" else ch)
    return "".join(out)


def clean_text(value: object, *, multiline: bool = False) -> str | None:
    """Return `value` as tidy text, or None when there is nothing in it.

    NFKC folds full-width forms (Ｚｈａｎｇ, １３８) to their ASCII twins; odd spaces become plain
    spaces, control and format characters go, runs of spaces collapse and each line is trimmed.
    Newlines survive only when `multiline`. Idempotent.
    """
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    # Scrub before NFKC so that deleting a character cannot leave an unnormalised sequence
    # behind, and again after, because NFKC itself can produce spaces.
    text = _scrub(unicodedata.normalize("NFKC", _scrub(text, multiline)), multiline)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    result = "\n".join(lines).strip("\n") if multiline else (lines[0] if lines else "")
    return result or None


def _key(value: str) -> str:
    """Form used to look enum words up: cleaned, case-folded, `_`/`-` as spaces."""
    text = clean_text(value) or ""
    return " ".join(text.casefold().replace("_", " ").replace("-", " ").split())


# ---------------------------------------------------------------------------------------------
# Phones


def default_region() -> str:
    """The region for phone numbers typed without a country code: env CRMCLI_REGION, else CN."""
    region = os.environ.get("CRMCLI_REGION", "").strip().upper()
    return region or "CN"


# Tried after the user's region. Our customers are Chinese and Western; a number that is not
# valid at home but valid in one of these was almost certainly meant there.
_FALLBACK_REGIONS = ("CN", "US")

# Patterns below are plain strings compiled on first use by re's own cache: compiling them all
# at import would cost every crmcli start a few milliseconds for formats most commands never see.
_SCIENTIFIC = r"(?i)^[+-]?(\d+)(?:\.(\d+))?e\+?(\d+)$"
_EXCEL_FLOAT = r"^(\+?\d+)\.0+$"
_ZH_EXTENSION = r"\s*(?:转|轉|分机|分機|内线|內線)\s*"
_EXTENSION_TAIL = r"(?i)\s*(?:ext\.?|extension|x|#)\s*(\d{1,10})\s*$"


@dataclass(frozen=True, slots=True)
class Phone:
    """A phone number as typed, with its canonical form when it has one."""

    raw: str  # as typed, after clean_text
    e164: str | None  # "+8613812345678" when it could be canonicalised, else None
    extension: str | None  # "801" from "转801", "ext 12", "x12", "#12"
    digits: str  # national significant number when parsed, else all digits typed

    @property
    def tail8(self) -> str:
        """Last 8 digits: matches the same line typed with or without country or area code."""
        return self.digits[-8:]

    @property
    def masked(self) -> str:
        """'138****5678': never more than 7 digits shown (3 + 4), fewer for short numbers."""
        d = self.digits
        if len(d) >= 8:
            return d[:3] + "*" * (len(d) - 7) + d[-4:]
        shown = max(0, min(4, len(d) - 3))
        return "*" * max(4, len(d) - shown) + (d[-shown:] if shown else "")

    @property
    def valid(self) -> bool:
        """libphonenumber considers the number valid (an assigned range, right length)."""
        return self.e164 is not None and _e164_is_valid(self.e164)


@functools.lru_cache(maxsize=4096)
def _e164_is_valid(e164: str) -> bool:
    import phonenumbers

    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(e164, None)))
    except phonenumbers.NumberParseException:
        return False


def _round_trips(num: PhoneNumber) -> bool:
    """An invalid number can have an E.164 form that reads back differently (+31 0…): refuse it."""
    import phonenumbers

    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    try:
        again = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.format_number(again, phonenumbers.PhoneNumberFormat.E164) == e164)


_NOT_ASCII_DIGIT = dict.fromkeys(c for c in range(128) if not 48 <= c <= 57)


def _ascii_digits(text: str) -> str:
    if text.isascii():
        return text.translate(_NOT_ASCII_DIGIT)  # the common case, ~10x the loop below
    out = []
    for ch in text:
        d = unicodedata.decimal(ch, None)
        if d is not None:
            out.append(str(d))
    return "".join(out)


def _unscientific(text: str) -> str | None:
    """Undo Excel's '1.3812345678E+10' when every digit survived; None when digits were lost."""
    m = re.match(_SCIENTIFIC, text)
    if m is None:
        return text
    whole, frac, exp = m.group(1), m.group(2) or "", int(m.group(3))
    # Excel shows 6 significant digits: unless the text spells out every digit of the integer,
    # the tail was padded with zeros and is gone.
    if len(frac) < exp or frac[exp:].strip("0"):
        return None
    return whole + frac[:exp]


# The form most phones in a Chinese sheet take: a mobile, bare or with +86, grouped 3-4-4 or
# not, maybe an Excel float (13812345678.0). ASCII with single separators, so clean_text leaves
# it as it is; there is no extension and nothing for _unscientific to undo.
_CN_MOBILE = (
    r"(\+86[ -]?)?1[3-9]\d(?P<sep>[ -])\d{4}(?P=sep)\d{4}"
    r"|\+86[ -]1[3-9]\d{9}|(\+86)?1[3-9]\d{9}(?:\.0+)?"
)


@functools.lru_cache(maxsize=1 << 16)
def _cn_mobile_prefix_valid(prefix7: str) -> bool:
    """Whether libphonenumber calls the 11-digit CN numbers starting with `prefix7` valid.

    CN's mobile ranges (the only CN type 11 digits starting 1[3-9] can be) fix at most the
    first 6 digits (1740[0-5]...), so the verdict for one number holds for its whole prefix.
    tests/test_normalize.py checks this against the full parse on random numbers.
    """
    import phonenumbers

    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(prefix7 + "0000"))
    return bool(phonenumbers.is_valid_number(number))


def _fast_cn_mobile(text: str, region: str | None) -> Phone | None:
    """The result `_parse_phone_slow` would give a plain, valid CN mobile; None for the rest.

    Read at home in CN (or with +86 typed), a valid mobile wins the first reading and its
    national form adds no trunk prefix: E.164 is +86 and the 11 digits. Skipping the parse
    and the formatting (~100 us) matters to an import of a million rows.
    """
    if not re.fullmatch(_CN_MOBILE, text):
        return None
    if not text.startswith("+") and (region or default_region()).strip().upper() != "CN":
        return None
    digits = _ascii_digits(text.partition(".")[0])[-11:]
    if not _cn_mobile_prefix_valid(digits[:7]):
        return None
    return Phone(raw=text, e164="+86" + digits, extension=None, digits=digits)


# A North American number as Western sheets write it: 415-555-2671, (415) 555-2671,
# 415.555.2671, 4155552671, each maybe after +1. Area code and exchange start with 2-9, so
# neither CN's nor the US's national prefix can be stripped from the digits typed.
_NANP = (  # (?a): ASCII digits only; other scripts' digits take the full parse
    r"(?a)(?P<plus>\+1[ .-]?)?(?:\((?P<a1>[2-9]\d\d)\) ?|(?P<a2>[2-9]\d\d)(?P<s>[ .-]?))"
    r"(?P<b>[2-9]\d\d)(?(s)(?P=s)|[ .-]?)(?P<c>\d{4})"
)


def _fast_nanp(text: str, region: str | None) -> Phone | None:
    """The result `_parse_phone_slow` would give a plain, valid North American number; None
    for the rest (and for a number a CN reading might claim, which the full parse settles).

    The full parse reads such a number in up to two regions, validating and formatting each
    reading (150-230 us a number, measured); here the verdicts come from libphonenumber itself,
    on numbers built from the digits (~60 us). tests/test_normalize.py compares the two on
    random numbers in every form the pattern takes.
    """
    import phonenumbers

    m = re.fullmatch(_NANP, text)
    if m is None:
        return None
    d10 = (m["a1"] or m["a2"]) + m["b"] + m["c"]
    home = (region or default_region()).strip().upper()
    if not m["plus"]:
        if home not in _FALLBACK_REGIONS:
            return None
        if home == "CN":
            if d10.startswith("86"):
                return None  # a CN reading takes 86 for the country code: the full parse decides
            # Read at home first. A CN reading that is valid as typed (400/800 numbers) wins;
            # one that needs a trunk 0 (4155552671, a Dandong landline) loses to a valid US one.
            cn = phonenumbers.PhoneNumber(country_code=86, national_number=int(d10))
            if phonenumbers.is_valid_number(cn):
                national = phonenumbers.format_number(cn, phonenumbers.PhoneNumberFormat.NATIONAL)
                if len(_ascii_digits(national)) <= len(d10):
                    return None
    us = phonenumbers.PhoneNumber(country_code=1, national_number=int(d10))
    if not phonenumbers.is_valid_number(us):
        return None
    return Phone(raw=text, e164="+1" + d10, extension=None, digits=d10)


# A CN landline dialled at home: (0755) 8888-1234, 0755-88881234, 010 8888 1234.
_CN_LANDLINE = (  # (?a): ASCII digits only, as in _NANP
    r"(?a)(?:\((?P<a1>0[1-9]\d{1,2})\) ?|(?P<a2>0[1-9]\d{1,2})[ -]?)(?P<b>\d{3,4})[ -]?(?P<c>\d{4})"
)


def _fast_cn_landline(text: str, region: str | None) -> Phone | None:
    """The result `_parse_phone_slow` would give a plain, valid CN landline read in CN (trunk
    0 typed); None for the rest. Same idea and test as `_fast_nanp`."""
    import phonenumbers

    m = re.fullmatch(_CN_LANDLINE, text)
    if m is None or (region or default_region()).strip().upper() != "CN":
        return None
    typed = (m["a1"] or m["a2"]) + m["b"] + m["c"]
    nsn = typed[1:]  # CN's trunk prefix 0 is stripped when the rest is a valid number
    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(nsn))
    if not phonenumbers.is_valid_number(number):
        return None
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if len(_ascii_digits(national)) != len(typed):
        return None
    return Phone(raw=text, e164="+86" + nsn, extension=None, digits=nsn)


def parse_phone(raw: str, region: str | None = None) -> Phone:
    """Parse a phone number as people type it; raise InvalidInput only when it has no digits.

    Numbers typed without a country code are read in `region` (default `default_region()`), then
    in the fallback regions; the first reading that is valid and does not lack a trunk prefix
    wins. So with region CN, `19147005807` stays a Chinese mobile while `415.555.2671` (which CN
    would only accept as a landline missing its leading 0) becomes +1 415 555 2671.
    A national number valid nowhere gets no e164 (a bare 8-digit landline has no area code to
    canonicalise with); a number typed with +CC or 00CC keeps its e164 when merely possible.
    """
    return (
        _fast_cn_mobile(raw, region)
        or _fast_nanp(raw, region)
        or _fast_cn_landline(raw, region)
        or _parse_phone_slow(raw, region)
    )


def _parse_phone_slow(raw: str, region: str | None = None) -> Phone:
    """`parse_phone` through libphonenumber, for every form (the fast path's reference)."""
    import phonenumbers
    from phonenumbers import CountryCodeSource, PhoneNumberFormat, ValidationResult

    text = clean_text(raw) or ""
    if not _ascii_digits(text):
        raise InvalidInput(
            f"phone {text!r} has no digits (expected e.g. 13812345678 or +86 138 1234 5678)"
        )
    unsci = _unscientific(text)
    if unsci is None:
        raise InvalidInput(
            f"phone {text!r} lost digits in a spreadsheet (scientific notation); enter it again"
        )
    work = re.sub(_EXCEL_FLOAT, r"\1", unsci)
    work = re.sub(_ZH_EXTENSION, " ext. ", work)
    ext_match = re.search(_EXTENSION_TAIL, work)
    main = work[: ext_match.start()] if ext_match else work
    typed_digits = _ascii_digits(main)
    if not typed_digits:
        raise InvalidInput(f"phone {text!r} has only an extension, no number")

    home = (region or default_region()).strip().upper()
    best: tuple[int, phonenumbers.PhoneNumber] | None = None
    for candidate in dict.fromkeys((home, *_FALLBACK_REGIONS)):
        try:
            num = phonenumbers.parse(work, candidate, keep_raw_input=True)
        except phonenumbers.NumberParseException:
            continue
        international = num.country_code_source != CountryCodeSource.FROM_DEFAULT_COUNTRY
        if phonenumbers.is_valid_number(num):
            national = _ascii_digits(phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL))
            # A CN landline dialled at home starts with its trunk 0; "4155552671" without it
            # is far more likely a US number than a Dandong landline.
            lacks_prefix = not international and len(national) > len(typed_digits)
            rank = 1 if lacks_prefix else 0
        elif (
            international
            and phonenumbers.is_possible_number_with_reason(num) == ValidationResult.IS_POSSIBLE
            and _round_trips(num)
        ):
            rank = 2
        else:
            continue
        if best is None or rank < best[0]:
            best = (rank, num)
        if international:
            break  # the country code was typed; other regions cannot read it differently
        if rank == 0:
            break  # nothing can beat a valid reading at home (halves the cost of an import)

    if best is None:
        extension = ext_match.group(1) if ext_match else None
        return Phone(raw=text, e164=None, extension=extension, digits=typed_digits)
    num = best[1]
    return Phone(
        raw=text,
        e164=phonenumbers.format_number(num, PhoneNumberFormat.E164),
        extension=num.extension or (ext_match.group(1) if ext_match else None),
        digits=phonenumbers.national_significant_number(num),
    )


_PHONE_SEPARATORS = r"[/;；,，、|\n\r]+"


def split_phones(cell: str) -> list[str]:
    """Split a cell holding several phones; spaces and hyphens belong to the numbers."""
    parts = (clean_text(p) for p in re.split(_PHONE_SEPARATORS, cell or ""))
    return [p for p in parts if p]


# ---------------------------------------------------------------------------------------------
# Emails

_EMAIL = r"^[^@\s]+@(?:[^@\s.]+\.)+[^@\s.]+$"


def normalize_email(raw: str) -> str:
    """'  Zhang.Wei@Example.COM ' -> 'zhang.wei@example.com'; InvalidInput unless x@y.z."""
    text = clean_text(raw) or ""
    if text[:7].casefold() == "mailto:":
        text = text[7:].strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    text = unicodedata.normalize("NFKC", text.lower())
    if not re.match(_EMAIL, text):
        raise InvalidInput(f"cannot read email {text!r} (expected e.g. name@example.com)")
    return text


def mask_email(email: str) -> str:
    """'zhang.wei@example.com' -> 'z***@example.com'."""
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


# ---------------------------------------------------------------------------------------------
# Dates

_DATE_HINT = "2024-05-20, 2024/5/20, 2024年5月20日, 20240520"
_TIME = r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
_YMD = r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + "$"
_YMD_ZH = (
    r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?"
    r"(?:\s*(\d{1,2})\s*[:时點点]\s*(\d{1,2})\s*分?(?:\s*:?\s*(\d{1,2})\s*秒?)?)?$"
)
_COMPACT = r"^(\d{4})(\d{2})(\d{2})" + _TIME + "$"
_DMY = r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})" + _TIME + "$"
_SERIAL = r"^\d{5}(?:\.\d+)?$"
_RELATIVE = r"^([+-]?)(\d{1,4})\s*(d|days?|w|weeks?|m|months?|天|周|个月|月)$"
_RELATIVE_WORDS = {
    "today": 0,
    "tomorrow": 1,
    "yesterday": -1,
    "今天": 0,
    "今日": 0,
    "明天": 1,
    "后天": 2,
    "大后天": 3,
    "昨天": -1,
    "前天": -2,
}
_EXCEL_EPOCH = datetime(1899, 12, 30)  # 1900 system; serials in our range are past the leap bug
_SERIAL_RANGE = (20000, 80000)  # 1954-10-03 .. 2119-01-10: the only numbers that mean a date


def _date_error(text: object, relative: bool) -> InvalidInput:
    hint = _DATE_HINT + (", today, +3d" if relative else "")
    return InvalidInput(f"cannot read date {str(text)!r} (expected e.g. {hint})")


def _add_months(d: date, months: int) -> date:
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(d.day, (first_of_next - timedelta(days=1)).day))


def _from_serial(value: float) -> datetime | None:
    if not _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]:
        return None
    return _EXCEL_EPOCH + timedelta(days=value)


def _relative_date(text: str, today: date) -> date | None:
    key = text.casefold()
    if key in _RELATIVE_WORDS:
        return today + timedelta(days=_RELATIVE_WORDS[key])
    m = re.match(_RELATIVE, key)
    if m is None:
        return None
    n = int(m.group(2)) * (-1 if m.group(1) == "-" else 1)
    unit = m.group(3)
    if unit.startswith("w") or unit == "周":
        return today + timedelta(weeks=n)
    if unit.startswith("m") or unit.endswith("月"):
        return _add_months(today, n)
    return today + timedelta(days=n)


def _absolute(text: str, region: str) -> tuple[date, time | None] | datetime | None:
    """A date with an optional naive time, an aware datetime (ISO with offset), or None."""
    m = re.match(_YMD, text) or re.match(_YMD_ZH, text) or re.match(_COMPACT, text)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := re.match(_DMY, text):
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        # Unambiguous when one side exceeds 12; otherwise US habit (m/d) only for region US,
        # the rest of the world's d/m everywhere else.
        month_first = b > 12 or (a <= 12 and region == "US")
        mo, d = (a, b) if month_first else (b, a)
    else:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        if parsed.tzinfo is not None:
            return parsed
        return parsed.date(), (parsed.time() if "T" in text or ":" in text else None)
    try:
        day = date(y, mo, d)
        if m.group(4) is None:
            return day, None
        return day, time(int(m.group(4)), int(m.group(5)), int(m.group(6) or 0))
    except ValueError:
        return None


def parse_date(value: object, *, relative: bool = False, today: date | None = None) -> date:
    """Read a calendar date from the formats people and spreadsheets use.

    Accepts date/datetime objects, Y-M-D with - / . separators, 2024年5月20日, 20240520, ISO
    datetimes (the time is ignored), d/m/Y (m/d/Y when region is US; either when one part is
    over 12) and Excel serial numbers 20000..80000. With `relative`, also today/tomorrow/
    yesterday, 今天/明天/后天/昨天/前天, and +3d, -2w, +1m, 3d (months clamp to the month's end).
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        serial = _from_serial(float(value))
        if serial is None:
            raise _date_error(value, relative)
        return serial.date()
    text = clean_text(value)
    if text is None:
        raise _date_error("" if value is None else value, relative)
    if relative:
        rel = _relative_date(text, today or date.today())
        if rel is not None:
            return rel
    if re.match(_SERIAL, text):
        serial = _from_serial(float(text))
        if serial is not None:
            return serial.date()
    found = _absolute(text, default_region())
    if found is None:
        raise _date_error(text, relative)
    return found.date() if isinstance(found, datetime) else found[0]


_NOON = time(12, 0)


def _local_to_utc(naive: datetime) -> datetime:
    return naive.astimezone().astimezone(UTC)


def _serial_moment(serial: datetime) -> datetime:
    # A whole-number serial is a date cell, not midnight: treat it like any other bare date.
    if serial.time() == time(0):
        serial = datetime.combine(serial.date(), _NOON)
    return _local_to_utc(serial)


def parse_datetime(value: object, *, now: datetime | None = None) -> datetime:
    """Read a moment; always returns an aware UTC datetime.

    "now"/"现在" and "today"/"今天" are `now`. A bare date (absolute or relative) is 12:00 local
    time that day, so that it stays on the same calendar day in any nearby timezone. A naive
    date-time is local time; ISO strings with an offset or Z keep it.
    """
    current = (now or datetime.now(UTC)).astimezone(UTC)
    if isinstance(value, datetime):
        return (_local_to_utc(value) if value.tzinfo is None else value).astimezone(UTC)
    if isinstance(value, date):
        return _local_to_utc(datetime.combine(value, _NOON))
    if isinstance(value, int | float) and not isinstance(value, bool):
        serial = _from_serial(float(value))
        if serial is None:
            raise _date_error(value, True)
        return _serial_moment(serial)
    text = clean_text(value)
    if text is None:
        raise _date_error("" if value is None else value, True)
    if text.casefold() in ("now", "现在", "today", "今天", "今日"):
        return current
    rel = _relative_date(text, current.astimezone().date())
    if rel is not None:
        return _local_to_utc(datetime.combine(rel, _NOON))
    if re.match(_SERIAL, text):
        serial = _from_serial(float(text))
        if serial is not None:
            return _serial_moment(serial)
    found = _absolute(text, default_region())
    if found is None:
        raise _date_error(text, True)
    if isinstance(found, datetime):
        return found.astimezone(UTC)
    day, at = found
    return _local_to_utc(datetime.combine(day, at or _NOON))


# ---------------------------------------------------------------------------------------------
# Enumerations: English (any case) and Chinese words map onto the stored English value.

_STATUS_WORDS = {
    "lead": ("lead", "leads", "new", "potential", "潜在客户", "潜在", "线索"),
    "prospect": ("prospect", "prospects", "opportunity", "qualified", "意向客户", "意向"),
    "customer": (
        "customer",
        "client",
        "won",
        "closed won",
        "成交客户",
        "成交",
        "已成交",
        "签约",
        "已签约",
    ),
    "lost": ("lost", "closed lost", "churned", "流失客户", "流失", "已流失", "丢单"),
}
_GRADE_SUFFIX = r"(?:级|類|类|等)?(?:客户)?$"
_KIND_WORDS = {
    "person": ("person", "individual", "people", "private", "个人", "个体", "自然人", "个人客户"),
    "company": (
        "company",
        "organisation",
        "organization",
        "org",
        "business",
        "corporate",
        "enterprise",
        "企业",
        "公司",
        "单位",
        "机构",
        "组织",
        "企业客户",
    ),
}
_CHANNEL_WORDS = {
    "call": ("call", "phone", "phone call", "tel", "电话", "致电", "来电", "通话"),
    "email": ("email", "e mail", "mail", "邮件", "邮箱", "电子邮件"),
    "meeting": ("meeting", "meet", "会议", "开会", "面谈", "见面"),
    "message": (
        "message",
        "msg",
        "sms",
        "text",
        "chat",
        "wechat",
        "im",
        "qq",
        "微信",
        "短信",
        "消息",
        "信息",
    ),
    "visit": ("visit", "拜访", "上门", "走访", "到访"),
    "note": ("note", "notes", "memo", "备注", "笔记", "记录"),
}
_GENDER_WORDS = {
    "male": ("male", "m", "man", "mr", "男", "男性", "先生"),
    "female": ("female", "f", "woman", "ms", "mrs", "miss", "女", "女性", "女士", "小姐"),
    "other": ("other", "x", "diverse", "non binary", "其他", "其它"),
}


def _lookup(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {word: value for value, words in table.items() for word in words}


_STATUS = _lookup(_STATUS_WORDS)
_KIND = _lookup(_KIND_WORDS)
_CHANNEL = _lookup(_CHANNEL_WORDS)
_GENDER = _lookup(_GENDER_WORDS)


def _enum(value: str, table: dict[str, str], what: str, expected: str) -> str:
    found = table.get(_key(value))
    if found is None:
        raise InvalidInput(f"unknown {what} {clean_text(value) or ''!r} (expected {expected})")
    return found


def parse_status(value: str) -> str:
    """lead/prospect/customer/lost, or 潜在客户/意向客户/成交客户/流失客户 (客户 optional)."""
    return _enum(
        value,
        _STATUS,
        "status",
        "lead, prospect, customer, lost or 潜在客户/意向客户/成交客户/流失客户",
    )


def parse_grade(value: str) -> str:
    """A/B/C in either case, also 'A级', 'A类', 'A类客户'."""
    key = re.sub(_GRADE_SUFFIX, "", _key(value)).strip().upper()
    if key not in GRADES:
        raise InvalidInput(f"unknown grade {clean_text(value) or ''!r} (expected A, B or C)")
    return key


def parse_kind(value: str) -> str:
    return _enum(value, _KIND, "kind", "person or company, 个人 or 企业")


def parse_channel(value: str) -> str:
    return _enum(
        value,
        _CHANNEL,
        "channel",
        "call, email, meeting, message, visit or note; 电话/邮件/会议/微信/拜访/备注",
    )


def parse_gender(value: str) -> str:
    return _enum(value, _GENDER, "gender", "male, female or other; 男/女/其他")


def normalize_tag(value: str) -> str:
    """Tags compare case-insensitively: stored case-folded."""
    text = clean_text(value)
    if text is None:
        raise InvalidInput("empty tag (expected a word such as vip or 展会)")
    return clean_text(text.casefold()) or text.casefold()


def normalize_source(value: str) -> str:
    """'Trade Show ' -> 'trade show'; Chinese is unchanged."""
    text = clean_text(value)
    if text is None:
        raise InvalidInput("empty source (expected e.g. referral, website, 展会)")
    return clean_text(text.lower()) or text.lower()
