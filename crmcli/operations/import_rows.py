"""One spreadsheet row in, one validated record out: the import's per-row work (pure, no I/O).

`CustomerRows.read` turns the raw cells of a customers sheet into a `CustomerRow` (normalised
fields, `Phone`s, emails, tags) or raises `Rejected` naming the column and the reason;
`InteractionRows.read` does the same for a sheet of follow-ups. A row with nothing in any
imported column is skipped (None).

The values are normalised by the same `crmcli.normalize` functions that `CustomerDraft`'s
validators call (models.py), field by field, so an imported customer is stored exactly as
`crmcli add` would store it. They are called directly instead of through pydantic because an
import validates every row of sheets with a million of them: profiling 10k rows put ~45% of the
time in pydantic's per-row dispatch, `clean_text`'s character loop and phone parsing, so repeated
values (enums, sources, cities, dates, office phones) are parsed once and cached, and plain
printable text takes a fast path that gives the same result as `clean_text`. tests/test_import.py
checks on random rows that this and `build_draft` agree.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crmcli import normalize, phone_numbers
from crmcli.errors import InvalidInput
from crmcli.phone_numbers import Phone
from crmcli.sensitive import find_sensitive
from crmcli.sheets import HeaderMap, cell_date, cell_text, lost_digits


class Rejected(Exception):
    """A row that cannot be imported: the column at fault ("" for the row) and why."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


@dataclass(slots=True)
class CustomerRow:
    """A customers-sheet row, validated: the fields given (dates as ISO text) and contacts."""

    number: int  # the row number Excel shows
    fields: dict[str, Any]
    phones: list[Phone]
    emails: list[str]
    tags: list[str]
    source_id: str | None = None  # the crmcli id column of an export (maps interactions)
    masked_skipped: int = 0  # masked phones/emails (138****5678) left out
    columns: dict[str, str] = field(default_factory=dict)  # field -> header, for messages


@dataclass(slots=True)
class InteractionRow:
    number: int
    at: str  # UTC, YYYY-MM-DDTHH:MM:SSZ
    channel: str
    summary: str
    outcome: str | None
    next_follow_up_on: str | None
    refs: list[tuple[str, str, str]]  # (how, header, value): "source_id" / "external_id" / "any"


# ---------------------------------------------------------------------------------------------
# Normalisers: the validators of CustomerDraft, cached for repeated values.


clean = normalize.clean_text  # has the fast path for printable text that most cells take


_ENUMS: dict[str, Callable[[str], str]] = {
    "kind": normalize.parse_kind,
    "status": normalize.parse_status,
    "grade": normalize.parse_grade,
    "gender": normalize.parse_gender,
    "source": normalize.normalize_source,
}


@functools.lru_cache(maxsize=8192)
def _enum(name: str, text: str) -> str:
    return _ENUMS[name](text)


@functools.lru_cache(maxsize=8192)
def _date(value: object) -> str:
    return normalize.parse_date(value, relative=True).isoformat()


@functools.lru_cache(maxsize=8192)
def _tag(text: str) -> str:
    return normalize.normalize_tag(text)


# Phones repeat (office landlines, a customer listed twice); parse_phone is ~100 us each.
@functools.lru_cache(maxsize=65536)
def _phone(text: str, region: str) -> Phone:
    return phone_numbers.parse_phone(text, region)


@functools.lru_cache(maxsize=8192)
def _channel(text: str) -> str:
    return normalize.parse_channel(text)


def is_masked(text: str) -> bool:
    """A contact detail masked by an export (`138****5678`, `z***@example.com`)."""
    return "**" in text


def parse_phones(texts: Sequence[str], region: str) -> tuple[list[Phone], int]:
    """Phones from cells (several to a cell allowed), de-duplicated like CustomerDraft; masked
    ones are skipped and counted."""
    phones: list[Phone] = []
    seen: set[str] = set()
    masked = 0
    for text in texts:
        for part in phone_numbers.split_phones(text):
            if is_masked(part):
                masked += 1
                continue
            phone = _phone(part, region)
            key = phone.e164 or phone.digits
            if key not in seen:
                seen.add(key)
                phones.append(phone)
    return phones, masked


def parse_emails(texts: Sequence[str]) -> tuple[list[str], int]:
    emails: list[str] = []
    masked = 0
    for text in texts:
        for part in text.replace(";", ",").replace("；", ",").split(","):
            if not part.strip():
                continue
            if is_masked(part):
                masked += 1
                continue
            email = normalize.normalize_email(part)
            if email not in emails:
                emails.append(email)
    return emails, masked


def parse_tags(texts: Sequence[str]) -> list[str]:
    tags: list[str] = []
    for text in texts:
        for part in text.replace("，", ",").replace("、", ",").split(","):
            if part.strip():
                tag = _tag(part)
                if tag not in tags:
                    tags.append(tag)
    return tags


# ---------------------------------------------------------------------------------------------
# Cells


def _refuse_sensitive(header: str, text: str) -> None:
    found = find_sensitive(text) if len(text) >= 9 else None
    if found is not None:
        raise Rejected(
            header,
            f"refused a {found.kind} ({found.hint}); national ID and bank card numbers are"
            " never stored",
        )


def _text_cell(header: str, raw: object) -> str | None:
    """A cell as text, refusing sensitive numbers and numbers Excel has cut short."""
    if isinstance(raw, float) and lost_digits(raw):
        raise Rejected(
            header,
            "a number of 16+ digits lost its last digits in Excel (type it as text);"
            " card and ID numbers are never stored anyway",
        )
    text = cell_text(raw)
    if text is not None:
        _refuse_sensitive(header, text)
    return text


_SINGLE_TEXT = ("external_id", "name", "company", "industry", "city", "budget", "needs")
_DATES = ("first_contact_on", "next_follow_up_on")


class CustomerRows:
    """Reads the rows of one customers sheet, given its header mapping."""

    def __init__(
        self,
        headers: Sequence[str],
        header_map: HeaderMap,
        *,
        keep_extra: bool = False,
        source_id_column: int | None = None,
        region: str | None = None,
    ) -> None:
        self.columns = sorted(header_map.fields.items())
        self.headers = list(headers)
        self.extra = list(header_map.unmapped) if keep_extra else []
        self.source_id_column = source_id_column
        self.region = region or normalize.default_region()
        self.header_of: dict[str, str] = {}
        for index, name in self.columns:
            self.header_of.setdefault(name, headers[index])

    def read(self, number: int, cells: Sequence[object]) -> CustomerRow | None:
        values: dict[str, Any] = {}
        multi: dict[str, list[str]] = {}
        notes: list[str] = []
        for index, name in self.columns:
            raw = cells[index] if index < len(cells) else None
            if raw is None:
                continue
            header = self.headers[index]
            if name in _DATES:
                if isinstance(raw, dt.date):
                    values[name] = raw
                elif (text := _text_cell(header, raw)) is not None:
                    values[name] = cell_date(raw if not isinstance(raw, str) else text)
                continue
            if name == "last_contacted_at":
                if isinstance(raw, dt.date) or _text_cell(header, raw) is not None:
                    values[name] = (header, cell_date(raw))
                continue
            text = _text_cell(header, raw)
            if text is None:
                continue
            if name in ("phones", "external_id") and lost_digits(text):
                what = "phone" if name == "phones" else "customer number"
                raise Rejected(
                    header,
                    f"{what} {text!r} lost digits in a spreadsheet (scientific notation);"
                    " enter it again as text",
                )
            if name == "notes":
                notes.append(text)
            elif name in ("phones", "emails", "tags"):
                multi.setdefault(name, []).append(text)
            else:
                values[name] = text
        for index, header in self.extra:
            raw = cells[index] if index < len(cells) else None
            if raw is not None and (text := _text_cell(header, raw)) is not None:
                notes.append(f"{header}: {text}")
        source_id = None
        if self.source_id_column is not None and self.source_id_column < len(cells):
            source_id = cell_text(cells[self.source_id_column])
        if not values and not multi and not notes:
            return None
        if notes:
            values["notes"] = "\n".join(notes)
        return self._validate(number, values, multi, source_id)

    def _validate(
        self,
        number: int,
        values: dict[str, Any],
        multi: dict[str, list[str]],
        source_id: str | None,
    ) -> CustomerRow:
        fields: dict[str, Any] = {}
        name = ""
        try:
            for name, value in values.items():
                if name in _SINGLE_TEXT:
                    fields[name] = clean(value)
                elif name == "notes":
                    fields[name] = clean(value, multiline=True)
                elif name in _ENUMS:
                    text = clean(value)
                    fields[name] = None if text is None else _enum(name, text)
                elif name in _DATES:
                    fields[name] = _parse_date_value(value)
                elif name == "last_contacted_at":
                    fields[name] = _moment(value[1], utc="utc" in value[0].casefold())
            name = "phones"
            phones, masked = parse_phones(multi.get("phones", ()), self.region)
            name = "emails"
            emails, masked_emails = parse_emails(multi.get("emails", ()))
            name = "tags"
            tags = parse_tags(multi.get("tags", ()))
        except InvalidInput as exc:
            header = values[name][0] if name == "last_contacted_at" else self.header_of.get(name)
            raise Rejected(header or name, exc.message) from None
        fields = {k: v for k, v in fields.items() if v is not None}
        return CustomerRow(
            number,
            fields,
            phones,
            emails,
            tags,
            source_id=source_id,
            masked_skipped=masked + masked_emails,
            columns=self.header_of,
        )


def _parse_date_value(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return _date(value)


def _moment(value: object, *, utc: bool = False) -> str:
    """A date-time cell as the stored UTC form (a bare date is noon local, like `log --at`).

    `utc`: the column says its times are UTC (a crmcli export's "At (UTC)"), so a naive
    date-time is read as UTC rather than local time.
    """
    if utc and isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if utc and isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return normalize.parse_datetime(value).strftime("%Y-%m-%dT%H:%M:%SZ")


class InteractionRows:
    """Reads the rows of one interactions sheet (customer reference, when, channel, summary)."""

    def __init__(
        self,
        headers: Sequence[str],
        header_map: HeaderMap,
        *,
        external_id_column: int | None = None,
        source_id_column: int | None = None,
    ) -> None:
        self.headers = list(headers)
        self.column = {name: index for index, name in header_map.fields.items()}
        self.external_id_column = external_id_column
        self.source_id_column = source_id_column
        if "customer" not in self.column and external_id_column is None:
            raise InvalidInput(
                "the interactions sheet has no customer column (客户编号/客户/Customer)"
            )

    def _cell(self, cells: Sequence[object], name: str) -> tuple[str, object]:
        index = self.column.get(name)
        if index is None or index >= len(cells):
            return name, None
        return self.headers[index], cells[index]

    def read(self, number: int, cells: Sequence[object]) -> InteractionRow | None:
        refs: list[tuple[str, str, str]] = []
        for how, index in (
            ("source_id", self.source_id_column),
            ("external_id", self.external_id_column),
            ("any", self.column.get("customer")),
        ):
            if index is not None and index < len(cells):
                text = cell_text(cells[index])
                if text and not any(text == r[2] for r in refs):
                    refs.append((how, self.headers[index], text))
        at_header, at_raw = self._cell(cells, "at")
        summary_header, summary_raw = self._cell(cells, "summary")
        channel_header, channel_raw = self._cell(cells, "channel")
        outcome_header, outcome_raw = self._cell(cells, "outcome")
        next_header, next_raw = self._cell(cells, "next_follow_up_on")
        if not refs and all(
            v is None for v in (at_raw, summary_raw, channel_raw, outcome_raw, next_raw)
        ):
            return None
        if not refs:
            raise Rejected("", "no customer reference (customer number, id or name)")
        summary = _text_cell(summary_header, summary_raw) if summary_raw is not None else None
        summary = clean(summary, multiline=True)
        if not summary:
            raise Rejected(summary_header, "an interaction needs a summary")
        outcome = clean(_text_cell(outcome_header, outcome_raw), multiline=True)
        if at_raw is None:
            raise Rejected(at_header, "an interaction needs a date")
        header = at_header
        try:
            at_text = _text_cell(at_header, at_raw)
            at = _moment(
                at_raw if isinstance(at_raw, dt.date) else cell_date(at_text),
                utc="utc" in at_header.casefold(),
            )
            header = channel_header
            channel_text = clean(cell_text(channel_raw))
            channel = _channel(channel_text) if channel_text else "note"
            header = next_header
            follow = cell_date(next_raw) if next_raw is not None else None
            next_on = _parse_date_value(follow)
        except InvalidInput as exc:
            raise Rejected(header, exc.message) from None
        return InteractionRow(number, at, channel, summary, outcome, next_on, refs)
