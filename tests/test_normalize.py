"""Normalisation of user input: text, phones, emails, dates and enumerations."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcli.errors import ExitCode, InvalidInput
from crmcli.normalize import (
    CHANNELS,
    GENDERS,
    KINDS,
    STATUS_LABELS_ZH,
    STATUSES,
    clean_text,
    default_region,
    mask_email,
    normalize_email,
    normalize_source,
    normalize_tag,
    parse_channel,
    parse_date,
    parse_datetime,
    parse_gender,
    parse_grade,
    parse_kind,
    parse_status,
)
from crmcli.phone_numbers import Phone, parse_phone, split_phones


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRMCLI_REGION", raising=False)


# --- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("  \t \u3000 ", None),
        ("  张伟  ", "张伟"),
        ("Ｚｈａｎｇ　Ｗｅｉ", "Zhang Wei"),  # full-width letters and ideographic space
        ("a\u00a0\u00a0b", "a b"),
        ("138\u200b1234", "1381234"),  # zero-width characters vanish, they do not split
        ("a\tb\x00c", "a bc"),
        ("line one\nline two", "line one line two"),
        (12345, "12345"),
    ],
)
def test_clean_text(raw: object, expected: str | None) -> None:
    assert clean_text(raw) == expected


def test_clean_text_multiline_keeps_lines_and_trims_each() -> None:
    assert clean_text("  first  \r\n   second\t line \n\n", multiline=True) == "first\nsecond line"


@given(st.text(), st.booleans())
def test_clean_text_idempotent(text: str, multiline: bool) -> None:
    once = clean_text(text, multiline=multiline)
    assert clean_text(once, multiline=multiline) == once


# --- phones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164", "extension"),
    [
        ("13812345678", "+8613812345678", None),
        ("+86 138-1234-5678", "+8613812345678", None),
        ("138 1234 5678", "+8613812345678", None),
        ("0086 138 1234 5678", "+8613812345678", None),
        ("１３８１２３４５６７８", "+8613812345678", None),  # full-width digits
        ("13812345678.0", "+8613812345678", None),  # Excel float text
        ("1.3812345678E+10", "+8613812345678", None),  # scientific, but every digit is there
        ("(0755) 8888-1234", "+8675588881234", None),  # CN landline with area code
        ("010-8888 1234", "+861088881234", None),
        ("19147005807", "+8619147005807", None),  # valid in CN and US: home region wins
        ("(415) 555-0134", "+14155550134", None),
        ("+1 415.555.2671", "+14155552671", None),
        ("415.555.2671", "+14155552671", None),  # CN would need a trunk 0: it is American
        ("13812345678转801", "+8613812345678", "801"),
        ("0755-88881234 转 801", "+8675588881234", "801"),
        ("13812345678 ext. 12", "+8613812345678", "12"),
        ("13812345678 x12", "+8613812345678", "12"),
        ("13812345678#12", "+8613812345678", "12"),
    ],
)
def test_parse_phone_forms(raw: str, e164: str, extension: str | None) -> None:
    phone = parse_phone(raw, "CN")
    assert phone.e164 == e164
    assert phone.extension == extension
    assert phone.valid


def test_parse_phone_keeps_raw_and_national_digits() -> None:
    phone = parse_phone("  +86 138-1234-5678 ")
    assert phone == Phone(
        raw="+86 138-1234-5678", e164="+8613812345678", extension=None, digits="13812345678"
    )
    assert phone.tail8 == "12345678"
    assert phone.masked == "138****5678"


def test_parse_phone_region_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMCLI_REGION", "us")
    assert default_region() == "US"
    assert parse_phone("19147005807").e164 == "+19147005807"
    # Not valid in the US, valid in China: the valid reading wins.
    assert parse_phone("(0755) 8888-1234").e164 == "+8675588881234"


def test_default_region_is_cn() -> None:
    assert default_region() == "CN"


def test_bare_landline_without_area_code_is_not_canonicalised() -> None:
    phone = parse_phone("8888-1234", "CN")
    assert phone.e164 is None
    assert phone.digits == "88881234"
    assert phone.tail8 == "88881234"
    assert not phone.valid


def test_unparseable_phone_keeps_digits() -> None:
    phone = parse_phone("12-34", "CN")
    assert phone.e164 is None
    assert phone.digits == "1234"
    assert phone.masked == "****4"


@pytest.mark.parametrize("raw", ["n/a", "", "   ", "无", "call me"])
def test_parse_phone_without_digits_raises(raw: str) -> None:
    with pytest.raises(InvalidInput, match="no digits"):
        parse_phone(raw)


@pytest.mark.parametrize("raw", ["1.38123E+10", "1.38123e10", "1.3812345678E+12"])
def test_parse_phone_scientific_notation_lost_digits(raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_phone(raw)
    assert info.value.message == (
        f"phone '{raw}' lost digits in a spreadsheet (scientific notation); enter it again"
    )
    assert info.value.exit_code == ExitCode.DATA_ERR


@pytest.mark.parametrize(
    ("digits", "masked"),
    [
        ("13812345678", "138****5678"),
        ("4155550134", "415***0134"),
        ("88881234", "888*1234"),
        ("5551234", "****1234"),
        ("12345", "****45"),
        ("123", "****"),
    ],
)
def test_masked(digits: str, masked: str) -> None:
    assert Phone(raw=digits, e164=None, extension=None, digits=digits).masked == masked


@given(st.text(max_size=40))
@settings(max_examples=300)
def test_parse_phone_raises_only_invalid_input(text: str) -> None:
    try:
        phone = parse_phone(text)
    except InvalidInput:
        return
    assert phone.digits.isdigit()
    assert len(re.findall(r"\d", phone.masked)) <= 7


_phone_text = st.one_of(
    st.from_regex(r"1[3-9]\d{9}", fullmatch=True),
    st.from_regex(r"\+?[0-9 ()\-.]{6,20}", fullmatch=True),
    st.from_regex(r"\(0\d{2,3}\) \d{7,8}", fullmatch=True),
    st.from_regex(r"\+1 [2-9]\d{2}[2-9]\d{6}", fullmatch=True),
)


@given(_phone_text, st.sampled_from(["CN", "US"]))
@settings(max_examples=300)
def test_e164_round_trips(text: str, region: str) -> None:
    try:
        phone = parse_phone(text, region)
    except InvalidInput:
        return
    if phone.e164 is not None:
        again = parse_phone(phone.e164, region)
        assert again.e164 == phone.e164
        assert again.digits == phone.digits
        assert again.valid == phone.valid


@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_masked_never_shows_more_than_seven_digits(digits: str) -> None:
    masked = Phone(raw=digits, e164=None, extension=None, digits=digits).masked
    assert len(re.findall(r"\d", masked)) <= 7
    assert masked.endswith(digits[-4:] if len(digits) >= 8 else masked.lstrip("*"))


def test_split_phones() -> None:
    cell = "138 1234 5678/ 139-1234-5678；(0755) 8888-1234，+1 415.555.2671、010-1234|x\n\n"
    assert split_phones(cell) == [
        "138 1234 5678",
        "139-1234-5678",
        "(0755) 8888-1234",
        "+1 415.555.2671",
        "010-1234",
        "x",
    ]
    assert split_phones("") == []
    assert split_phones("13812345678,13912345678;") == ["13812345678", "13912345678"]


# --- emails ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Zhang.Wei@Example.COM", "zhang.wei@example.com"),
        ("  mailto:bob@acme.co.uk ", "bob@acme.co.uk"),
        ("<bob@acme.io>", "bob@acme.io"),
        ("ｂｏｂ＠ａｃｍｅ．ｃｏｍ", "bob@acme.com"),  # full-width
    ],
)
def test_normalize_email(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "bob", "bob@", "@acme.com", "bob@acme", "a b@c.d", "a@b@c.d"])
def test_normalize_email_rejects(raw: str) -> None:
    with pytest.raises(InvalidInput, match=r"expected e\.g\. name@example\.com"):
        normalize_email(raw)


@given(st.emails() | st.text(max_size=30))
def test_normalize_email_idempotent(raw: str) -> None:
    try:
        once = normalize_email(raw)
    except InvalidInput:
        return
    assert normalize_email(once) == once


def test_mask_email() -> None:
    assert mask_email("zhang.wei@example.com") == "z***@example.com"
    assert mask_email("nonsense") == "***"


# --- dates -----------------------------------------------------------------------------------

MAY20 = date(2024, 5, 20)


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-20",
        "2024/5/20",
        "2024.5.20",
        "2024年5月20日",
        "2024 年 5 月 20 日",
        "2024年5月20号",
        "20240520",
        "2024-05-20 14:30",
        "2024-05-20 14:30:00",
        "2024/05/20 09:05",
        "2024年5月20日 14:30",
        "2024-05-20T14:30:00",
        "2024-05-20T14:30:00+08:00",
        "2024-05-20T14:30:00Z",
        "５/２０/２０２４",  # full-width; 20 > 12 so m/d/Y is unambiguous
        "20/5/2024",
        "20.05.2024",
        45432,
        45432.75,
        "45432",
        MAY20,
        datetime(2024, 5, 20, 23, 59),
    ],
)
def test_parse_date_formats(value: object) -> None:
    assert parse_date(value) == MAY20


def test_ambiguous_day_month_follows_region(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_date("5/6/2024") == date(2024, 6, 5)  # day first outside the US
    monkeypatch.setenv("CRMCLI_REGION", "US")
    assert parse_date("5/6/2024") == date(2024, 5, 6)
    assert parse_date("20/5/2024") == MAY20  # unambiguous either way


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-30",
        "2023-02-29",
        "2024-13-45",
        "2024-05-20 25:00",
        "foo",
        "",
        None,
        "2024年5月",
        100,
        99999,
        True,
        "today",  # relative words need relative=True
    ],
)
def test_parse_date_rejects(value: object) -> None:
    with pytest.raises(InvalidInput, match=r"cannot read date .* \(expected e\.g\. 2024-05-20"):
        parse_date(value)


def test_parse_date_error_message() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_date("2024-13-45")
    assert info.value.message == (
        "cannot read date '2024-13-45' "
        "(expected e.g. 2024-05-20, 2024/5/20, 2024年5月20日, 20240520)"
    )


TODAY = date(2024, 1, 31)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", TODAY),
        ("Tomorrow", date(2024, 2, 1)),
        ("yesterday", date(2024, 1, 30)),
        ("今天", TODAY),
        ("明天", date(2024, 2, 1)),
        ("后天", date(2024, 2, 2)),
        ("昨天", date(2024, 1, 30)),
        ("+3d", date(2024, 2, 3)),
        ("3d", date(2024, 2, 3)),
        ("-3d", date(2024, 1, 28)),
        ("+2w", date(2024, 2, 14)),
        ("+1m", date(2024, 2, 29)),  # clamped to the end of February
        ("-2m", date(2023, 11, 30)),
        ("+12m", date(2025, 1, 31)),
        ("3天", date(2024, 2, 3)),
        ("2024-05-20", MAY20),  # absolute dates still work
    ],
)
def test_parse_date_relative(text: str, expected: date) -> None:
    assert parse_date(text, relative=True, today=TODAY) == expected


def test_parse_date_relative_error_mentions_relative_forms() -> None:
    with pytest.raises(InvalidInput, match=r"today, \+3d\)$"):
        parse_date("next week", relative=True, today=TODAY)


NOW = datetime(2024, 5, 20, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["UTC", "Asia/Shanghai", "America/New_York"])
def local_tz(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run under several local timezones (the conftest pins UTC; restore it afterwards)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def _local(naive: datetime) -> datetime:
    """Expected values are written as naive local times and resolved inside the test."""
    return naive.astimezone().astimezone(UTC) if naive.tzinfo is None else naive


def _local_noon_utc(d: date) -> datetime:
    return _local(datetime(d.year, d.month, d.day, 12))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("now", NOW),
        ("现在", NOW),
        ("today", NOW),
        ("2024-05-20T14:30:00Z", datetime(2024, 5, 20, 14, 30, tzinfo=UTC)),
        ("2024-05-20T14:30:00+08:00", datetime(2024, 5, 20, 6, 30, tzinfo=UTC)),
        (
            datetime(2024, 5, 20, 14, 30, tzinfo=timezone(timedelta(hours=-5))),
            NOW + timedelta(hours=16, minutes=30),
        ),
        ("2024-05-20 14:30", datetime(2024, 5, 20, 14, 30)),
        ("2024年5月20日 14:30", datetime(2024, 5, 20, 14, 30)),
        ("2024-05-20", datetime(2024, 5, 20, 12)),
        (MAY20, datetime(2024, 5, 20, 12)),
        (datetime(2024, 5, 20, 9, 15), datetime(2024, 5, 20, 9, 15)),
        (45432, datetime(2024, 5, 20, 12)),
        (45432.25, datetime(2024, 5, 20, 6)),
    ],
)
def test_parse_datetime(value: object, expected: datetime, local_tz: str) -> None:
    got = parse_datetime(value, now=NOW)
    assert got == _local(expected)
    assert got.tzinfo == UTC


def test_parse_datetime_relative_is_local_noon(local_tz: str) -> None:
    local_today = NOW.astimezone().date()
    assert parse_datetime("+3d", now=NOW) == _local_noon_utc(local_today + timedelta(days=3))


@pytest.mark.parametrize("value", ["soon", "2024-02-30 10:00", "", None])
def test_parse_datetime_rejects(value: object) -> None:
    with pytest.raises(InvalidInput, match="cannot read date"):
        parse_datetime(value, now=NOW)


# --- enumerations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lead", "lead"),
        ("LEAD", "lead"),
        (" Prospect ", "prospect"),
        ("customer", "customer"),
        ("Lost", "lost"),
        ("潜在客户", "lead"),
        ("意向客户", "prospect"),
        ("成交客户", "customer"),
        ("流失客户", "lost"),
        ("潜在", "lead"),
        ("意向", "prospect"),
        ("成交", "customer"),
        ("流失", "lost"),
        ("won", "customer"),
        ("closed-won", "customer"),
        ("closed_lost", "lost"),
    ],
)
def test_parse_status(text: str, expected: str) -> None:
    assert parse_status(text) == expected


def test_status_tables_agree() -> None:
    assert tuple(STATUS_LABELS_ZH) == STATUSES
    for status, label in STATUS_LABELS_ZH.items():
        assert parse_status(status) == parse_status(label) == status
    assert all(parse_kind(k) == k for k in KINDS)
    assert all(parse_channel(c) == c for c in CHANNELS)
    assert all(parse_gender(g) == g for g in GENDERS)


def test_unknown_status_message() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_status("foo")
    assert info.value.message == (
        "unknown status 'foo' (expected lead, prospect, customer, lost or "
        "潜在客户/意向客户/成交客户/流失客户)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("A", "A"), ("b", "B"), (" c ", "C"), ("A级", "A"), ("B类", "B"), ("c类客户", "C")],
)
def test_parse_grade(text: str, expected: str) -> None:
    assert parse_grade(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("person", "person"),
        ("Individual", "person"),
        ("个人", "person"),
        ("个体", "person"),
        ("company", "company"),
        ("Organisation", "company"),
        ("org", "company"),
        ("business", "company"),
        ("企业", "company"),
        ("公司", "company"),
        ("单位", "company"),
    ],
)
def test_parse_kind(text: str, expected: str) -> None:
    assert parse_kind(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call", "call"),
        ("电话", "call"),
        ("email", "email"),
        ("E-mail", "email"),
        ("邮件", "email"),
        ("邮箱", "email"),
        ("会议", "meeting"),
        ("面谈", "meeting"),
        ("见面", "meeting"),
        ("微信", "message"),
        ("短信", "message"),
        ("消息", "message"),
        ("QQ", "message"),
        ("WeChat", "message"),
        ("拜访", "visit"),
        ("上门", "visit"),
        ("备注", "note"),
        ("笔记", "note"),
        ("note", "note"),
    ],
)
def test_parse_channel(text: str, expected: str) -> None:
    assert parse_channel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("男", "male"),
        ("女", "female"),
        ("Male", "male"),
        ("F", "female"),
        ("m", "male"),
        ("男性", "male"),
        ("女性", "female"),
        ("先生", "male"),
        ("女士", "female"),
        ("other", "other"),
        ("其他", "other"),
    ],
)
def test_parse_gender(text: str, expected: str) -> None:
    assert parse_gender(text) == expected


@pytest.mark.parametrize(
    ("parse", "bad", "expected"),
    [
        (parse_status, "closed", "expected lead, prospect"),
        (parse_grade, "D", "expected A, B or C"),
        (parse_grade, "", "expected A, B or C"),
        (parse_kind, "robot", "expected person or company"),
        (parse_channel, "fax", "expected call, email"),
        (parse_gender, "unknown", "expected male, female or other"),
    ],
)
def test_unknown_enum_values_raise(parse: object, bad: str, expected: str) -> None:
    assert callable(parse)
    with pytest.raises(InvalidInput, match=re.escape(expected)):
        parse(bad)


def test_tags_and_sources() -> None:
    assert normalize_tag("  VIP ") == "vip"
    assert normalize_tag("Ｖｉｐ  客户") == "vip 客户"
    assert normalize_source(" Trade  Show ") == "trade show"
    assert normalize_source("展会 Referral") == "展会 referral"
    with pytest.raises(InvalidInput, match="empty tag"):
        normalize_tag("   ")
    with pytest.raises(InvalidInput, match="empty source"):
        normalize_source("")


@given(st.text(min_size=1))
def test_normalize_tag_idempotent(text: str) -> None:
    try:
        once = normalize_tag(text)
    except InvalidInput:
        return
    assert normalize_tag(once) == once


# --- the fast path for plain CN mobiles equals the full parse -------------------------------

_MOBILE_DIGITS = st.from_regex(r"\A1[0-9]{10}\Z")
_MOBILE_FORMS = st.sampled_from(
    ["{d}", "{a}-{b}-{c}", "{a} {b} {c}", "+86 {a} {b} {c}", "+86{d}", "+86 {d}", "+86-{a}-{b}-{c}",
     "{d}.0", "+86{d}.0", "{a}-{b} {c}", "86{d}", "0086 {d}", " {d}", "{d}.5", "+86 {a}-{b}-{c}"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(digits=_MOBILE_DIGITS, form=_MOBILE_FORMS, region=st.sampled_from(["CN", "US", "GB"]))
def test_fast_cn_mobile_equals_the_full_parse(digits: str, form: str, region: str) -> None:
    from crmcli.phone_numbers import _parse_phone_slow

    text = form.format(d=digits, a=digits[:3], b=digits[3:7], c=digits[7:])
    assert parse_phone(text, region) == _parse_phone_slow(text, region)


def test_cn_mobile_validity_depends_on_the_first_six_digits_only() -> None:
    import random

    import phonenumbers

    from crmcli.phone_numbers import _cn_valid

    rng = random.Random(7)
    for prefix in range(13000, 20000):  # every 5-digit start, two random tails each
        for _ in range(2):
            digits = f"{prefix}{rng.randrange(10**6):06d}"
            try:  # 179xx reads as a carrier prefix and leaves too few digits
                valid = phonenumbers.is_valid_number(phonenumbers.parse(digits, "CN"))
            except phonenumbers.NumberParseException:
                valid = False
            assert _cn_valid(digits[:6], 11) == valid, digits


# --- the fast paths for North American numbers and CN landlines equal the full parse ----------

_NANP_FORMS = (
    "{a}-{b}-{c}", "({a}) {b}-{c}", "({a}){b}-{c}", "{a}.{b}.{c}", "{a}{b}{c}", "{a} {b} {c}",
    "+1 {a}-{b}-{c}", "+1 ({a}) {b}-{c}", "+1{a}{b}{c}", "+1 {a}.{b}.{c}", "+1-{a}-{b}-{c}",
    "{a}-{b}.{c}", "({a} {b}-{c}", "1-{a}-{b}-{c}",
)  # fmt: skip
# Area codes a CN reading claims (400/800 toll-free, 86x read as the country code, 415 a
# Dandong landline missing its 0) next to ordinary US and Canadian ones.
_NANP_AREAS = ("400", "800", "888", "415", "212", "201", "416", "860", "868", "555", "999")
_CN_LANDLINE_FORMS = (
    "{a}-{b}{c}", "({a}) {b}-{c}", "({a}){b}-{c}", "{a} {b} {c}", "{a}{b}{c}", "{a}-{b}-{c}",
)  # fmt: skip
_CN_AREAS = ("010", "020", "021", "0755", "0571", "0415", "0991", "0101", "0199", "0800", "0400")


def test_fast_nanp_equals_the_full_parse() -> None:
    import random

    from crmcli.phone_numbers import _parse_phone_slow

    rng = random.Random(11)
    for i in range(3000):
        area = rng.choice(_NANP_AREAS) if i % 3 == 0 else str(rng.randrange(100, 1000))
        b, c = str(rng.randrange(100, 1000)), f"{rng.randrange(10_000):04d}"
        text = rng.choice(_NANP_FORMS).format(a=area, b=b, c=c)
        for region in ("CN", "US", "GB"):
            assert parse_phone(text, region) == _parse_phone_slow(text, region), (text, region)


def test_fast_cn_landline_equals_the_full_parse() -> None:
    import random

    from crmcli.phone_numbers import _parse_phone_slow

    rng = random.Random(12)
    for i in range(3000):
        area = rng.choice(_CN_AREAS) if i % 3 else "0" + str(rng.randrange(10, 1000))
        b, c = str(rng.randrange(100, 10_000)), f"{rng.randrange(10_000):04d}"
        text = rng.choice(_CN_LANDLINE_FORMS).format(a=area, b=b, c=c)
        for region in ("CN", "US"):
            assert parse_phone(text, region) == _parse_phone_slow(text, region), (text, region)


@pytest.mark.parametrize(
    "text", ["(01٠) 00000000", "(4١5) 555-2671", "٤١٥-555-2671", "０７５５-８８８８１２３４"]
)
def test_fast_paths_leave_other_digits_to_the_full_parse(text: str) -> None:
    from crmcli.phone_numbers import _parse_phone_slow

    assert parse_phone(text, "CN") == _parse_phone_slow(text, "CN")
    assert parse_phone(text, "CN").e164 is None or parse_phone(text, "CN").e164.isascii()


def test_fast_paths_take_the_common_forms() -> None:
    from crmcli.phone_numbers import _fast_cn_landline, _fast_nanp

    nanp = _fast_nanp("(415) 555-2671", "CN")
    assert nanp is not None and (nanp.e164, nanp.digits) == ("+14155552671", "4155552671")
    assert _fast_nanp("+1 415.555.2671", "CN") is not None
    assert _fast_nanp("800-555-1234", "CN") is None  # a CN toll-free reading wins: full parse
    landline = _fast_cn_landline("(0755) 8888-1234", "CN")
    assert landline is not None and (landline.e164, landline.digits) == (
        "+8675588881234",
        "75588881234",
    )
    assert _fast_cn_landline("(0755) 8888-1234", "US") is None
