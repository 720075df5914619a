"""The detector of identifiers that must never be stored: found when present, silent on phones."""

from __future__ import annotations

import datetime as dt
import random
import re
import string

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crmcli.errors import ExitCode, InvalidInput, SensitiveDataRefused
from crmcli.sensitive import (
    CARD_KIND,
    IBAN_KIND,
    ID_KIND,
    SSN_KIND,
    Finding,
    _is_phone,
    find_sensitive,
    refuse_sensitive,
)

# --------------------------------------------------------------------------- generators

PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46]
PROVINCES += [50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91]
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(province: int, county: int, born: dt.date, seq: int) -> str:
    body = f"{province:02d}{county:04d}{born:%Y%m%d}{seq:03d}"
    total = sum(w * int(c) for w, c in zip(ID_WEIGHTS, body, strict=True))
    return body + "10X98765432"[total % 11]


def luhn_complete(partial: str) -> str:
    for last in "0123456789":
        digits = partial + last
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def make_iban(country: str, bban: str) -> str:
    num = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - num % 97:02d}{bban}"


TODAY = dt.date.today()
ids = st.builds(
    make_id,
    st.sampled_from(PROVINCES),
    st.integers(0, 9999),
    st.dates(dt.date(1900, 1, 1), TODAY),
    st.integers(0, 999),
)
CARD_PREFIXES = ["62", "4", "51", "55", "2221", "2720", "34", "37", "35", "6011", "65", "30", "36"]
CARD_PREFIXES += ["38"]
cards = st.builds(
    lambda prefix, length, rest: luhn_complete((prefix + rest)[: length - 1]),
    st.sampled_from(CARD_PREFIXES),
    st.integers(13, 19),
    st.text("0123456789", min_size=18, max_size=18),
)
IBAN_COUNTRIES = ["DE", "GB", "FR", "NL", "ES", "IT", "CH", "BE", "SA", "BR", "MT", "NO", "PL"]
ibans = st.builds(
    make_iban,
    st.sampled_from(IBAN_COUNTRIES),
    st.text(string.ascii_uppercase + string.digits, min_size=11, max_size=30),
)
ssns = st.builds(
    lambda a, g, s: f"{a:03d}-{g:02d}-{s:04d}",
    st.integers(1, 899).filter(lambda a: a != 666),
    st.integers(1, 99),
    st.integers(1, 9999),
)
# Text around a number: anything that does not glue more digits or letters onto it.
wrappers = st.sampled_from(
    ["{}", "身份证：{}。", "card {} thanks", "卡号{}元", "({})", "no. {}\nnext line", "{};"]
)


def grouped(s: str, size: int = 4, sep: str = " ") -> str:
    return sep.join(s[i : i + size] for i in range(0, len(s), size))


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize(
    ("text", "kind", "hint"),
    [
        ("11010519491231002X", ID_KIND, "ID number ending 002X"),
        ("11010519491231002x", ID_KIND, "ID number ending 002X"),
        ("身份证号:110105 19491231 002X", ID_KIND, "ID number ending 002X"),
        ("ID11010519491231002X", ID_KIND, "ID number ending 002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", ID_KIND, "ID number ending 002X"),  # full width
        ("110105491231002", ID_KIND, "ID number ending 1002"),  # 15-digit old format
        ("4111111111111111", CARD_KIND, "bank card ending 1111"),
        ("4111-1111-1111-1111", CARD_KIND, "bank card ending 1111"),
        ("6222 0212 3456 7890 128", CARD_KIND, "bank card ending 0128"),
        ("卡号6222021234567890128元", CARD_KIND, "bank card ending 0128"),
        ("378282246310005", CARD_KIND, "bank card ending 0005"),  # Amex, 15 digits
        ("3782 822463 10005", CARD_KIND, "bank card ending 0005"),
        ("5555555555554444", CARD_KIND, "bank card ending 4444"),
        ("2223003122003222", CARD_KIND, "bank card ending 3222"),
        ("6011111111111117", CARD_KIND, "bank card ending 1117"),
        ("3530111333300000", CARD_KIND, "bank card ending 0000"),
        ("13812345678 6222021234567890128", CARD_KIND, "bank card ending 0128"),
        ("DE89 3704 0044 0532 0130 00", IBAN_KIND, "IBAN of DE ending 3000"),
        ("iban de89370400440532013000 please", IBAN_KIND, "IBAN of DE ending 3000"),
        ("GB82 WEST 1234 5698 7654 32 is mine", IBAN_KIND, "IBAN of GB ending 5432"),
        ("FR1420041010050500013M02606", IBAN_KIND, "IBAN of FR ending 2606"),
        ("SSN 078-05-1120", SSN_KIND, "ddd-dd-dddd number at character 5"),
    ],
)
def test_finds(text: str, kind: str, hint: str) -> None:
    assert find_sensitive(text) == Finding(kind, hint)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "张伟",
        "深圳某某科技有限公司",
        "Called Bob about the Q3 order; follow up 2024-05-01",
        "11010519491231002Y",
        "110105194912310021",  # wrong check digit
        "990105194912310029",  # no such province
        "110105" + f"{TODAY.year + 1}0101" + "0016",  # born in the future
        "4111111111111112",  # Luhn fails
        "9111111111111111",  # no card starts with 9
        "DE89 3704 0044 0532 0130 01",
        "PO12 3456 7890 1234 56",  # not an IBAN country
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "123-00-4567",
        "123-45-0000",
        "123-45-67890",
        "1-123-45-6789",
        "13812345678",
        "+86 138-1234-5678",
        "0086 138 1234 5678",
        "(0755) 8888-1234",
        "+1 (415) 555-0134",
        "415.555.2671",
        "14155552671",
        "13812345678.0",
        "138 1234 5678 139 8765 4321",
        "415-555-0134 415-555-2671",
        "+86 138 1234 5678 转801",
    ],
)
def test_does_not_find(text: str) -> None:
    assert find_sensitive(text) is None


def test_thirteen_to_fifteen_digits_that_are_phones_are_not_cards() -> None:
    # Luhn-valid 13-15 digit runs with a Visa prefix that read as phones (e.g. German numbers
    # behind +49) are left alone: only 16-19 digits are refused without asking phonenumbers.
    rng = random.Random(7)
    found = 0
    for _ in range(20000):
        n = "4" + "".join(rng.choice(string.digits) for _ in range(rng.randint(12, 14)))
        if luhn_complete(n[:-1]) == n and _is_phone(n):
            assert find_sensitive(n) is None
            found += 1
    assert found > 0  # the rule was exercised (e.g. German numbers behind +49)


# --------------------------------------------------------------------------- properties


@given(ids, wrappers, st.booleans())
def test_valid_resident_ids_are_found(number: str, wrapper: str, spaced: bool) -> None:
    text = number if not spaced else f"{number[:6]} {number[6:14]} {number[14:]}"
    assert find_sensitive(wrapper.format(text)) == Finding(
        ID_KIND, f"ID number ending {number[-4:]}"
    )


@given(cards, wrappers, st.sampled_from(["", " ", "-"]))
def test_luhn_card_numbers_are_found(number: str, wrapper: str, sep: str) -> None:
    assume(len(number) >= 16 or not _is_phone(number))
    found = find_sensitive(wrapper.format(grouped(number, 4, sep) if sep else number))
    assert found is not None
    assert found.kind in (CARD_KIND, ID_KIND)  # an 18-digit card may also be a valid ID


@given(ibans, wrappers, st.booleans(), st.booleans())
def test_valid_ibans_are_found(iban: str, wrapper: str, spaced: bool, lower: bool) -> None:
    text = grouped(iban) if spaced else iban
    found = find_sensitive(wrapper.format(text.lower() if lower else text))
    assert found == Finding(IBAN_KIND, f"IBAN of {iban[:2]} ending {iban[-4:]}")


@given(ssns, wrappers)
def test_valid_ssns_are_found(ssn: str, wrapper: str) -> None:
    found = find_sensitive(wrapper.format(ssn))
    assert found is not None
    assert found.kind == SSN_KIND
    assert ssn[-4:] not in found.hint  # the last four of an SSN are themselves sensitive


@given(st.one_of(ids, cards, ibans, ssns), wrappers)
def test_refusal_names_the_field_and_kind_never_the_number(number: str, wrapper: str) -> None:
    assume(len(number) >= 16 or not _is_phone(number))
    with pytest.raises(SensitiveDataRefused) as info:
        refuse_sensitive({"name": "张伟", "notes": wrapper.format(number)})
    message = str(info.value)
    assert message.startswith("notes: refused a ")
    assert message.endswith("; national ID and bank card numbers are never stored")
    assert number not in message and number.lower() not in message
    assert re.search(r"\d{5,}", message) is None  # at most the last four digits
    assert info.value.exit_code == ExitCode.DATA_ERR
    assert isinstance(info.value, InvalidInput)


@given(st.text(max_size=40))
def test_never_crashes_on_any_text(text: str) -> None:
    find_sensitive(text)


# --------------------------------------------------------------------------- refuse_sensitive


def test_refuse_sensitive_accepts_ordinary_records() -> None:
    refuse_sensitive(
        {
            "name": "Bob Smith",
            "phones": ["13812345678", "+1 (415) 555-0134"],
            "budget": 500000.0,
            "tags": {"vip", "展会"},
            "extra": {"wechat": "bob_2024"},
            "first_contact_on": dt.date(2024, 1, 2),
            "archived": False,
            "company": None,
        }
    )


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (4111111111111111.0, "card"),  # Excel float of a 16-digit card
        (4111111111111111, "card"),
        (["13812345678", "4111 1111 1111 1111"], "card"),
        ({"bank": "DE89370400440532013000"}, "card"),
    ],
)
def test_refuse_sensitive_looks_inside_numbers_and_containers(value: object, field: str) -> None:
    with pytest.raises(SensitiveDataRefused, match=f"^{field}: refused a "):
        refuse_sensitive({"name": "x", field: value})


# --------------------------------------------------------------------------- phones never refused

CN_LANDLINE_AREAS = ["10", "20", "21", "22", "23", "24", "25", "27", "28", "29", "311", "351"]
CN_LANDLINE_AREAS += ["371", "431", "451", "510", "512", "531", "532", "571", "574", "591"]
CN_LANDLINE_AREAS += ["592", "731", "755", "757", "769", "871", "898", "931", "991"]
US_AREAS = ["201", "202", "212", "213", "305", "312", "404", "408", "415", "503", "512", "617"]
US_AREAS += ["646", "650", "702", "713", "718", "786", "818", "917", "949", "206", "303"]


def _valid(number: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(number))


def _ext(rng: random.Random) -> str:
    return rng.choice(["", "", "", f"转{rng.randint(1, 9999)}", f" ext {rng.randint(1, 999)}"])


def _cn_mobile(rng: random.Random) -> list[str]:
    while True:
        n = f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}"
        if _valid("+86" + n):
            break
    a, b, c = n[:3], n[3:7], n[7:]
    x = _ext(rng)
    return [
        n,
        f"+86 {a}-{b}-{c}",
        f"0086 {a} {b} {c}",
        f"{a} {b} {c}",
        f"{n}.0",
        f"+86{n}",
        f"+86 {n}",
        f"{a}-{b}-{c}",
        f"86-{a}-{b}-{c}",
        n + x,
        f"{a} {b} {c}{x}",
    ]


def _cn_landline(rng: random.Random) -> list[str]:
    while True:
        area = rng.choice(CN_LANDLINE_AREAS)
        sub = f"{rng.randint(2, 8)}{rng.randrange(10**7):07d}"[: rng.choice([7, 8, 8])]
        if _valid(f"+86{area}{sub}"):
            break
    s1, s2 = sub[:-4], sub[-4:]
    x = _ext(rng)
    return [
        f"(0{area}) {s1}-{s2}",
        f"0{area}-{sub}",
        f"0{area}{sub}",
        f"+86 {area} {s1} {s2}",
        f"0086 {area} {sub}",
        f"+86-{area}-{sub}",
        f"0{area}-{sub}{x}",
        f"(0{area}){sub}{x}",
        f"0{area}{sub}.0",
    ]


def _us(rng: random.Random) -> list[str]:
    while True:
        a = rng.choice(US_AREAS)
        e, line = f"{rng.randint(2, 9)}{rng.randrange(100):02d}", f"{rng.randrange(10**4):04d}"
        if _valid(f"+1{a}{e}{line}"):
            break
    x = _ext(rng)
    return [
        f"+1 ({a}) {e}-{line}",
        f"{a}.{e}.{line}",
        f"1{a}{e}{line}",
        f"({a}) {e}-{line}",
        f"{a}-{e}-{line}",
        f"+1 {a} {e} {line}",
        f"{a}{e}{line}",
        f"1-{a}-{e}-{line}",
        f"+1{a}{e}{line}",
        f"1{a}{e}{line}.0",
        f"{a} {e} {line}{x}",
        f"001 {a} {e} {line}",
    ]


def test_phone_numbers_are_never_refused() -> None:
    """200,000 valid Chinese and US numbers in every accepted format: zero findings."""
    rng = random.Random(20240501)
    makers = [_cn_mobile, _cn_mobile, _cn_landline, _us]
    texts: list[str] = []
    while len(texts) < 200_000:
        texts.extend(rng.choice(makers)(rng))
    texts = texts[:200_000]
    false_positives = [t for t in texts if find_sensitive(t) is not None]
    assert false_positives == [], false_positives[:10]
    # Two numbers in one cell, as spreadsheets often have them, are not glued into a card.
    pairs = [f"{texts[i]} {texts[i + 1]}" for i in range(0, 40_000, 2)]
    pairs += [f"{texts[i]}/{texts[i + 1]}" for i in range(40_000, 60_000, 2)]
    assert [p for p in pairs if find_sensitive(p) is not None] == []


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=40))
def test_text_without_digits_has_no_candidate(text: str) -> None:
    from crmcli.sensitive import _candidates

    # find_sensitive skips the candidate search for text without a digit.
    assert _candidates().search("Ab " + text + " CD") is None
