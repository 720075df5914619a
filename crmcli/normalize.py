"""Normalisation of what a user types or a spreadsheet holds: text, emails, dates, enums.

Phone numbers have their own module, `phone_numbers`.

This module owns the one canonical form of every input value, so that the CLI, the importer and
the models all agree on what "the same value" means. It is pure: no I/O, no database. A value that
cannot be understood raises `InvalidInput` with a one-line message saying what was expected.

Heavy libraries (phonenumbers) are imported inside the functions that need them: scripts call
crmcli thousands of times and must not pay for them on every start.
"""

from __future__ import annotations

import os
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from crmcli.errors import InvalidInput

if TYPE_CHECKING:
    pass

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
    if text.isprintable():
        # No control, format or separator character but the ASCII space (most values): of the
        # work below only NFKC and collapsing spaces apply, when NFKC's result is printable too.
        folded = text if text.isascii() else unicodedata.normalize("NFKC", text)
        if folded.isprintable():
            return " ".join(folded.split()) or None
    return _clean_any_text(text, multiline)


def _clean_any_text(text: str, multiline: bool) -> str | None:
    """`clean_text` for every text (the fast path's reference)."""
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
# Region


def default_region() -> str:
    """The region for phone numbers typed without a country code: env CRMCLI_REGION, else CN."""
    region = os.environ.get("CRMCLI_REGION", "").strip().upper()
    return region or "CN"


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
