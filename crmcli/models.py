"""The customer record as input: pydantic models whose validators normalise every field.

`CustomerDraft` is what `add`, `edit` and `import` build from user text; constructing one
normalises (NFKC text, E.164 phones, lower-cased emails, ISO dates, enum synonyms in Chinese
and English) and refuses national ID / bank card numbers. No I/O here. pydantic costs
~125 ms to import, so only the commands that write customers import this module.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from crmcli import normalize, phone_numbers
from crmcli.errors import InvalidInput, SensitiveDataRefused
from crmcli.fields import RECORD_FIELDS  # noqa: F401  (re-exported: the record's names)
from crmcli.phone_numbers import Phone
from crmcli.sensitive import refuse_sensitive

TEXT_FIELDS = ("external_id", "name", "company", "industry", "city", "budget", "needs")


def _as_value_error(func: Any, value: Any) -> Any:
    try:
        return func(value)
    except SensitiveDataRefused:
        raise
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


class CustomerDraft(BaseModel):
    """A customer's fields as given; every field optional so edits can be partial."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    external_id: str | None = None
    kind: str | None = None
    name: str | None = None
    company: str | None = None
    phones: list[Phone] = []
    emails: list[str] = []
    status: str | None = None
    grade: str | None = None
    source: str | None = None
    industry: str | None = None
    city: str | None = None
    gender: str | None = None
    budget: str | None = None
    needs: str | None = None
    notes: str | None = None
    tags: list[str] = []
    first_contact_on: date | None = None
    next_follow_up_on: date | None = None

    @field_validator(*TEXT_FIELDS, mode="before")
    @classmethod
    def _text(cls, value: Any) -> str | None:
        return normalize.clean_text(value)

    @field_validator("notes", mode="before")
    @classmethod
    def _notes(cls, value: Any) -> str | None:
        return normalize.clean_text(value, multiline=True)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> str | None:
        text = normalize.clean_text(value)
        return None if text is None else _as_value_error(normalize.parse_kind, text)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> str | None:
        text = normalize.clean_text(value)
        return None if text is None else _as_value_error(normalize.parse_status, text)

    @field_validator("grade", mode="before")
    @classmethod
    def _grade(cls, value: Any) -> str | None:
        text = normalize.clean_text(value)
        return None if text is None else _as_value_error(normalize.parse_grade, text)

    @field_validator("gender", mode="before")
    @classmethod
    def _gender(cls, value: Any) -> str | None:
        text = normalize.clean_text(value)
        return None if text is None else _as_value_error(normalize.parse_gender, text)

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: Any) -> str | None:
        text = normalize.clean_text(value)
        return None if text is None else normalize.normalize_source(text)

    @field_validator("first_contact_on", "next_follow_up_on", mode="before")
    @classmethod
    def _date(cls, value: Any) -> date | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return _as_value_error(lambda v: normalize.parse_date(v, relative=True), value)

    @field_validator("phones", mode="before")
    @classmethod
    def _phones(cls, values: Any) -> list[Phone]:
        phones: list[Phone] = []
        for value in values or []:
            if isinstance(value, Phone):
                phones.append(value)
                continue
            for part in phone_numbers.split_phones(str(value)):
                phones.append(_as_value_error(phone_numbers.parse_phone, part))
        return _unique_phones(phones)

    @field_validator("emails", mode="before")
    @classmethod
    def _emails(cls, values: Any) -> list[str]:
        emails: list[str] = []
        for value in values or []:
            for part in str(value).replace(";", ",").replace("；", ",").split(","):
                if part.strip():
                    email = _as_value_error(normalize.normalize_email, part)
                    if email not in emails:
                        emails.append(email)
        return emails

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, values: Any) -> list[str]:
        tags: list[str] = []
        for value in values or []:
            for part in str(value).replace("，", ",").replace("、", ",").split(","):
                if part.strip():
                    tag = _as_value_error(normalize.normalize_tag, part)
                    if tag not in tags:
                        tags.append(tag)
        return tags

    def fields(self) -> dict[str, Any]:
        """The scalar columns that were given, dates as ISO text."""
        out: dict[str, Any] = {}
        for name in self.model_fields_set:
            if name in ("phones", "emails", "tags"):
                continue
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, date) else value
        return out


def _unique_phones(phones: list[Phone]) -> list[Phone]:
    seen: set[str] = set()
    unique = []
    for phone in phones:
        key = phone.e164 or phone.digits
        if key not in seen:
            seen.add(key)
            unique.append(phone)
    return unique


def build_draft(values: dict[str, Any]) -> CustomerDraft:
    """Validate user input into a draft, or raise InvalidInput naming the first bad field."""
    refuse_sensitive({k: v for k, v in values.items() if v is not None})
    try:
        return CustomerDraft(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"][:1]) or "record"
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        raise InvalidInput(f"{field}: {message}") from None
