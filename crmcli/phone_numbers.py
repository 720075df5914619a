"""Phone numbers as people type them: parsing to E.164, masking, splitting a cell of several.

Part of the input normalisation (`normalize` owns text, emails, dates and enums); pure, no I/O.
libphonenumber (phonenumbers) does the parsing and validation; the fast paths below only skip
its work where its verdict is known, and tests compare them with the full parse.
phonenumbers is imported inside the functions that need it: most commands never parse a phone.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crmcli.errors import InvalidInput
from crmcli.normalize import clean_text, default_region

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

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

    def __reduce__(self) -> tuple[type[Phone], tuple[str, str | None, str | None, str]]:
        # Cheaper to unpickle than dataclasses' generic __setstate__ (an import's worker sends
        # every phone it parsed to the main process).
        return Phone, (self.raw, self.e164, self.extension, self.digits)

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


# libphonenumber's verdicts on a +1 or +86 number (its region, validity, national format) come
# from patterns that look at no more than its first 6 digits and its length, 7 for the whole
# NANP scan (Barbados and Jamaica); tests/test_phone_metadata.py proves it from the metadata's
# patterns. So each verdict is asked once per prefix, of a number that stands for all of them.
_DECIDING_DIGITS = 6


def _stand_in(country_code: int, prefix: str, length: int) -> PhoneNumber:
    import phonenumbers

    national = int(prefix.ljust(length, "0"))
    return phonenumbers.PhoneNumber(country_code=country_code, national_number=national)


@functools.lru_cache(maxsize=1 << 16)
def _us_valid(prefix6: str) -> bool:
    """Whether 10-digit +1 numbers starting with `prefix6` are valid US numbers.

    A sufficient test for `is_valid_number`, and half its cost: it scans the NANP regions
    starting with the US, which has no leading digits, so a valid US number is found there.
    """
    import phonenumbers

    return bool(phonenumbers.is_valid_number_for_region(_stand_in(1, prefix6, 10), "US"))


@functools.lru_cache(maxsize=1 << 16)
def _nanp_valid(prefix7: str) -> bool:
    """Whether 10-digit +1 numbers starting with `prefix7` are valid in any NANP region."""
    import phonenumbers

    return bool(phonenumbers.is_valid_number(_stand_in(1, prefix7, 10)))


@functools.lru_cache(maxsize=1 << 16)
def _cn_valid(prefix6: str, length: int) -> bool:
    """Whether CN numbers of `length` digits starting with `prefix6` are valid."""
    import phonenumbers

    return bool(phonenumbers.is_valid_number(_stand_in(86, prefix6, length)))


@functools.lru_cache(maxsize=1 << 16)
def _cn_national_length(prefix6: str, length: int) -> int | None:
    """How many digits the national format of a valid CN number of `length` digits starting
    with `prefix6` has (one more when it shows the trunk 0); None when such numbers are invalid.
    """
    import phonenumbers

    if not _cn_valid(prefix6, length):
        return None
    number = _stand_in(86, prefix6, length)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return len(_ascii_digits(national))


# The form most phones in a Chinese sheet take: a mobile, bare or with +86, grouped 3-4-4 or
# not, maybe an Excel float (13812345678.0). ASCII with single separators, so clean_text leaves
# it as it is; there is no extension and nothing for _unscientific to undo.
_CN_MOBILE = (
    r"(\+86[ -]?)?1[3-9]\d(?P<sep>[ -])\d{4}(?P=sep)\d{4}"
    r"|\+86[ -]1[3-9]\d{9}|(\+86)?1[3-9]\d{9}(?:\.0+)?"
)


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
    if not _cn_valid(digits[:_DECIDING_DIGITS], 11):
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
    asked once per prefix that decides them (see `_DECIDING_DIGITS`). tests/test_normalize.py
    compares the two on random numbers in every form the pattern takes.
    """
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
            national = _cn_national_length(d10[:_DECIDING_DIGITS], len(d10))
            if national is not None and national <= len(d10):
                return None
    if not (_us_valid(d10[:_DECIDING_DIGITS]) or _nanp_valid(d10[: _DECIDING_DIGITS + 1])):
        return None
    return Phone(raw=text, e164="+1" + d10, extension=None, digits=d10)


# A CN landline dialled at home: (0755) 8888-1234, 0755-88881234, 010 8888 1234.
_CN_LANDLINE = (  # (?a): ASCII digits only, as in _NANP
    r"(?a)(?:\((?P<a1>0[1-9]\d{1,2})\) ?|(?P<a2>0[1-9]\d{1,2})[ -]?)(?P<b>\d{3,4})[ -]?(?P<c>\d{4})"
)


def _fast_cn_landline(text: str, region: str | None) -> Phone | None:
    """The result `_parse_phone_slow` would give a plain, valid CN landline read in CN (trunk
    0 typed); None for the rest. Same idea and test as `_fast_nanp`."""
    m = re.fullmatch(_CN_LANDLINE, text)
    if m is None or (region or default_region()).strip().upper() != "CN":
        return None
    typed = (m["a1"] or m["a2"]) + m["b"] + m["c"]
    nsn = typed[1:]  # CN's trunk prefix 0 is stripped when the rest is a valid number
    # Valid, and dialled at home with the trunk 0 its national format shows.
    if _cn_national_length(nsn[:_DECIDING_DIGITS], len(nsn)) != len(typed):
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
