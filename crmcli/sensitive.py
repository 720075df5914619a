"""The detector of identifiers that crmcli must never store.

Owns the rules that find, in any text a user or a spreadsheet hands us, a Chinese resident ID
number, a bank card number, an IBAN or a US social security number, and the refusal raised for them.
Every write path (fields, phones, notes, interaction summaries, imported cells) calls
`refuse_sensitive`.

It runs on every imported cell, so ordinary text must cost one regex scan: a single compiled
pattern finds candidate runs (9+ digits, optionally grouped by spaces or hyphens; IBAN-shaped
tokens; the SSN shape) and only those are checked. The checks are phone-aware: crmcli stores phone
numbers, and Luhn alone flags ~10% of "86" + mobile strings, so 13-15 digit runs are refused only
when they are not a valid Chinese, US or international phone number (16-19 digits never are).

A finding carries a hint (e.g. "bank card ending 6933") and never the number itself.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from crmcli.errors import SensitiveDataRefused

ID_KIND = "Chinese resident ID number"
CARD_KIND = "bank card number"
IBAN_KIND = "IBAN"
SSN_KIND = "US social security number"


@dataclass(frozen=True)
class Finding:
    kind: str
    hint: str


# Full-width digits (０-９) and X are common in Chinese input; they are folded before checking.
_FOLD = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")
_D = "0-9０-９"
_CANDIDATE_PATTERN = rf"""
    (?P<iban>
        (?<![0-9A-Za-z])[A-Za-z]{{2}}[0-9]{{2}}
        (?: [0-9A-Za-z]{{11,30}}            # printed unspaced
          | \x20[0-9A-Za-z]{{11,30}}        # "DE89 370400440532013000"
          | (?:\x20[0-9A-Za-z]{{4}}){{2,7}}(?:\x20[0-9A-Za-z]{{1,4}})?  # groups of 4
        )
        (?![0-9A-Za-z])
    )
  | (?P<ssn>(?<![{_D}A-Za-z])(?<![{_D}]-)[0-9]{{3}}-[0-9]{{2}}-[0-9]{{4}}(?!-?[{_D}A-Za-z]))
  | (?P<digits>(?<![{_D}])[{_D}](?:[\x20-]?[{_D}]){{8,}}[XxＸｘ]?(?![{_D}]))
    """
# A tenth of the candidate search's cost on text without digits, and cheap to compile.
_ANY_DIGIT = re.compile(f"[{_D}]")
_candidate: re.Pattern[str] | None = None  # compiled on first use: ~10 ms that most commands skip


def _candidates() -> re.Pattern[str]:
    global _candidate
    if _candidate is None:
        _candidate = re.compile(_CANDIDATE_PATTERN, re.VERBOSE)
    return _candidate


_SEPARATORS = re.compile(r"[ -]")

# GB 11643: province-level codes that start a resident ID number.
_PROVINCES = frozenset(
    {
        *(11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46),
        *(50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91),
    }
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # ISO 7064 MOD 11-2: index = weighted sum mod 11

# Countries in the IBAN registry (and the experimental ones banks already print): limiting the two
# letters keeps order codes like "PO12 ..." from a 1-in-97 chance of refusal.
_IBAN_COUNTRIES = frozenset(
    """AD AE AL AO AT AZ BA BE BF BG BH BI BJ BR BY CF CG CH CI CM CR CV CY CZ DE DJ DK DO DZ EE
    EG ES FI FK FO FR GA GB GE GI GL GQ GR GT GW HN HR HU IE IL IQ IR IS IT JO KM KW KZ LB LC LI LT
    LU LV LY MA MC MD ME MG MK ML MN MR MT MU MZ NE NI NL NO OM PK PL PS PT QA RO RS RU SA SC SD SE
    SI SK SM SN SO ST SV TD TG TL TN TR UA VA VG XK YE""".split()  # noqa: SIM905 (reads as a table)
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i & 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_prefix_ok(d: str) -> bool:
    first = d[0]
    if first == "4":  # Visa
        return True
    two = int(d[:2])
    if two == 62 or two == 65 or 51 <= two <= 55:  # UnionPay, Discover, Mastercard
        return True
    if two in (34, 37, 35, 30, 36, 38):  # Amex, JCB, Diners
        return True
    four = int(d[:4])
    return 2221 <= four <= 2720 or four == 6011  # Mastercard 2-series, Discover


def _is_phone(digits: str) -> bool:
    """Whether a 13-15 digit run reads as a valid phone number (CN, US, or international)."""
    import phonenumbers  # ~30 ms: paid only when a card-shaped run needs this check

    for text, region in ((digits, "CN"), (digits, "US"), ("+" + digits, None)):
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(text, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def _plausible_date(year: int, month: int, day: int) -> bool:
    try:
        born = _dt.date(year, month, day)
    except ValueError:
        return False
    return _dt.date(1900, 1, 1) <= born <= _dt.date.today()


def _is_resident_id(d: str) -> bool:
    """18-character GB 11643 number: province, birth date 1900..today, MOD 11-2 check character."""
    if len(d) != 18 or int(d[:2]) not in _PROVINCES or not d[:17].isdigit():
        return False
    if not _plausible_date(int(d[6:10]), int(d[10:12]), int(d[12:14])):
        return False
    total = sum(w * (ord(c) - 48) for w, c in zip(_ID_WEIGHTS, d, strict=False))
    return _ID_CHECK[total % 11] == d[17].upper()


def _is_old_resident_id(d: str) -> bool:
    """15-digit pre-1999 number: province and a yymmdd birth date in 19yy (no check digit)."""
    return (
        len(d) == 15
        and int(d[:2]) in _PROVINCES
        and _plausible_date(1900 + int(d[6:8]), int(d[8:10]), int(d[10:12]))
    )


def _check_digits(d: str) -> Finding | None:
    """Check one joined run of digits (an 18-character ID may end in X)."""
    n = len(d)
    if n == 18 and _is_resident_id(d):
        return Finding(ID_KIND, f"ID number ending {d[-4:].upper()}")
    if d[-1] in "Xx":
        return None
    if 13 <= n <= 19 and _card_prefix_ok(d) and _luhn_ok(d) and (n >= 16 or not _is_phone(d)):
        return Finding(CARD_KIND, f"bank card ending {d[-4:]}")
    if n == 15 and _is_old_resident_id(d) and not _is_phone(d):
        return Finding(ID_KIND, f"ID number ending {d[-4:]}")
    return None


# How cards and IDs are printed in groups: 4-4-4-4(-3), Amex/Diners 4-6-5 / 4-6-4, ID 6-8-4.
_PRINTED_LAYOUTS = frozenset([(4, 6, 5), (4, 6, 4), (6, 8, 4), (6, 4, 4, 4)])


def _printed_layout(groups: list[str]) -> bool:
    lengths = tuple(len(g) for g in groups)
    if lengths in _PRINTED_LAYOUTS:
        return True
    return len(lengths) >= 3 and set(lengths[:-1]) == {4} and lengths[-1] <= 4


def _check_digit_run(run: str) -> Finding | None:
    """Check a run like "6222 0212 3456 7890 123" or "13812345678 6222021234567890123".

    Groups are joined only when they follow a printed card/ID layout with one separator: spreadsheet
    cells hold several phones side by side ("(415) 417-9875 415-417-9875", "…转4105 0233…"), and
    gluing their pieces made Luhn-valid "cards" in 1 of 400 pairs. Each group is also checked alone.
    """
    run = run.translate(_FOLD)
    candidates: list[str] = []
    if " " in run and "-" in run:  # mixed: a space separates numbers, hyphens group one number
        for chunk in run.split(" "):
            parts = chunk.split("-")
            if len(parts) > 1 and _printed_layout(parts):
                candidates.append("".join(parts))
        candidates += _SEPARATORS.split(run)
    elif " " in run or "-" in run:
        groups = _SEPARATORS.split(run)
        if _printed_layout(groups):
            candidates.append("".join(groups))
        candidates += groups
    else:
        candidates.append(run)
    for d in candidates:
        if 13 <= len(d) <= 19:
            found = _check_digits(d)
            if found:
                return found
    return None


def _iban_ok(s: str) -> bool:
    if not 15 <= len(s) <= 34 or s[:2] not in _IBAN_COUNTRIES or not s[2:4].isdigit():
        return False
    rearranged = s[4:] + s[:4]
    # int(c, 36) maps 0-9 to 0-9 and A-Z to 10-35, as ISO 13616 asks.
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _check_iban(token: str) -> Finding | None:
    parts = token.upper().split(" ")
    # The greedy groups-of-4 branch may have swallowed a following 4-letter word: try shorter
    # prefixes at group boundaries too.
    for end in range(len(parts), 1 if len(parts) > 1 else 0, -1):
        s = "".join(parts[:end])
        if _iban_ok(s):
            return Finding(IBAN_KIND, f"IBAN of {s[:2]} ending {s[-4:]}")
    return None


def _check_ssn(ssn: str, start: int) -> Finding | None:
    area, group, serial = ssn[:3], ssn[4:6], ssn[7:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return None
    # The last four digits of an SSN are themselves used to verify identity: point at it instead.
    return Finding(SSN_KIND, f"ddd-dd-dddd number at character {start + 1}")


def find_sensitive(text: str) -> Finding | None:
    """The first identifier in `text` that must not be stored, or None."""
    if len(text) < 9:  # nothing we refuse is shorter (an SSN is 11 characters, 9 digits)
        return None
    if _ANY_DIGIT.search(text) is None:
        return None  # every candidate has digits; names and notes mostly have none
    pos = 0
    search = (_candidate or _candidates()).search
    while (m := search(text, pos)) is not None:
        group = m.lastgroup
        if group == "digits":
            found = _check_digit_run(m.group())
            pos = m.end()
        elif group == "iban":
            found = _check_iban(m.group())
            # Not an IBAN: after its two letters a digit run may start ("ID1101..."), resume there.
            pos = m.start() + 2 if found is None else m.end()
        else:
            found = _check_ssn(m.group(), m.start())
            pos = m.end()
        if found is not None:
            return found
    return None


def _texts(value: object) -> Iterable[str]:
    if value is None or isinstance(value, bool | bytes):
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, float):
        # Excel stores long digit strings as floats; integral ones below 2**53 are exact.
        if value.is_integer() and abs(value) < 2**53:
            yield str(int(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, Iterable):
        for item in value:
            yield from _texts(item)
    else:
        yield str(value)


def refuse_sensitive(fields: Mapping[str, object]) -> None:
    """Raise SensitiveDataRefused for the first field holding a refused identifier.

    Values may be strings, numbers (integral floats are read as their digits), or lists/dicts of
    them (phones, tags). The message names the field, the kind and a hint, never the number."""
    for name, value in fields.items():
        # Plain strings are nearly every value: skip the generator for them.
        texts = (value,) if type(value) is str else _texts(value)
        for text in texts:
            found = find_sensitive(text)
            if found is not None:
                raise SensitiveDataRefused(
                    f"{name}: refused a {found.kind} ({found.hint}); "
                    "national ID and bank card numbers are never stored"
                )
