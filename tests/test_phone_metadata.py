"""libphonenumber's metadata decides +1 and +86 numbers by their first digits and length.

The fast paths in `crmcli.phone_numbers` ask libphonenumber once per prefix of
`_DECIDING_DIGITS` digits (7 for the NANP scan) and reuse the verdict for every number of the
same length with that prefix. That is sound when no pattern the verdicts use (the region's
leading digits, each number type's pattern, each format's leading digits and pattern) looks
past that prefix: every character after it is matched by a bare `\\d`, so changing those digits
cannot change a match. `_reach` computes, from a pattern's parse tree, the furthest position at
which anything but `\\d` is matched; the tests below bound it for every region of +1 and +86,
then compare the cached verdicts with libphonenumber's on random numbers as a second check.
"""

from __future__ import annotations

import random
import re._constants as sre  # the parse tree's opcodes
import re._parser as sre_parse
from collections.abc import Iterator
from typing import Any

import phonenumbers
import pytest
from phonenumbers import PhoneMetadata

from crmcli.phone_numbers import (
    _DECIDING_DIGITS,
    _cn_national_length,
    _nanp_valid,
    _us_valid,
)

_ANY_DIGIT = ([(sre.RANGE, (48, 57))], [(sre.CATEGORY, sre.CATEGORY_DIGIT)])
_UNBOUNDED = 10**6


def _walk(items: Any, lo: int, hi: int, reach: int) -> tuple[int, int, int]:
    """Offsets (fewest, most) after matching `items` from offsets lo..hi, and the furthest end
    of a character matched by anything but a bare digit class."""
    for op, arg in items:
        if op is sre.IN or op in (sre.LITERAL, sre.NOT_LITERAL, sre.ANY):
            if not (op is sre.IN and list(arg) in _ANY_DIGIT):
                reach = max(reach, hi + 1)
            lo, hi = lo + 1, hi + 1
        elif op is sre.SUBPATTERN:
            lo, hi, reach = _walk(arg[3], lo, hi, reach)
        elif op is sre.BRANCH:
            ends = [_walk(alternative, lo, hi, reach) for alternative in arg[1]]
            lo, hi = min(e[0] for e in ends), max(e[1] for e in ends)
            reach = max(e[2] for e in ends)
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            least, most, item = arg
            unbounded, most = most > 50, min(most, 50)
            ends = [(lo, hi)] if least == 0 else []
            after = (lo, hi)
            for count in range(1, most + 1):
                after_lo, after_hi, reach = _walk(item, *after, reach)
                after = (after_lo, after_hi)
                if count >= least:
                    ends.append(after)
            if unbounded:  # one more repetition may start anywhere, and so may what follows
                reach = _walk(item, lo, _UNBOUNDED, reach)[2]
                ends.append((lo, _UNBOUNDED))
            lo, hi = min(e[0] for e in ends), max(e[1] for e in ends)
        else:
            raise AssertionError(f"unexpected pattern element {op}")
    return lo, hi, reach


def _reach(pattern: str) -> int:
    return _walk(sre_parse.parse(pattern), 0, 0, 0)[2]


def _patterns(region: str) -> Iterator[str]:
    md = PhoneMetadata.metadata_for_region(region)
    assert md is not None
    for name in (
        "general_desc", "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
        "personal_number", "voip", "pager", "uan", "voicemail", "no_international_dialling",
    ):  # fmt: skip
        desc = getattr(md, name)
        if desc is not None and desc.national_number_pattern:
            yield desc.national_number_pattern
    if md.leading_digits:
        yield md.leading_digits
    for number_format in (*md.number_format, *md.intl_number_format):
        yield number_format.pattern
        yield from number_format.leading_digits_pattern


@pytest.mark.parametrize(
    ("pattern", "reach"),
    [(r"\d{3}[2-9]\d{6}", 4), (r"(?:\d{3}|\d{5})2\d", 6), (r"1(?:3\d|5[0-35-9])\d{8}", 3),
     (r"8(?:00|33)[2-9]\d{6}", 4), (r"\d+7", _UNBOUNDED + 1), (r"[0-9]{2}(?:1|2\d)", 3)],
)  # fmt: skip
def test_reach_finds_the_last_constrained_digit(pattern: str, reach: int) -> None:
    assert _reach(pattern) == reach


def test_us_and_cn_patterns_look_at_six_digits_the_nanp_scan_at_seven() -> None:
    nanp = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]
    # _us_valid relies on the scan of is_valid_number trying the US first, by its patterns.
    assert nanp[0] == "US" and PhoneMetadata.metadata_for_region("US").leading_digits is None
    assert phonenumbers.COUNTRY_CODE_TO_REGION_CODE[86] == ("CN",)  # no scan for +86
    for region in ("US", "CN"):
        assert max(map(_reach, _patterns(region))) <= _DECIDING_DIGITS, region
    for region in nanp:
        assert max(map(_reach, _patterns(region))) <= _DECIDING_DIGITS + 1, region


def test_prefix_verdicts_equal_libphonenumber_on_random_numbers() -> None:
    rng = random.Random(5)
    for _ in range(4000):
        d10 = f"{rng.randrange(2, 10)}{rng.randrange(10**9):09d}"
        us = phonenumbers.PhoneNumber(country_code=1, national_number=int(d10))
        valid = phonenumbers.is_valid_number(us)
        assert (_us_valid(d10[:6]) or _nanp_valid(d10[:7])) == valid, d10
        assert not _us_valid(d10[:6]) or valid, d10
        for length in (9, 10, 11):
            nsn = f"{rng.randrange(1, 10)}{rng.randrange(10 ** (length - 1)):0{length - 1}d}"
            cn = phonenumbers.PhoneNumber(country_code=86, national_number=int(nsn))
            expected = None
            if phonenumbers.is_valid_number(cn):
                national = phonenumbers.format_number(cn, phonenumbers.PhoneNumberFormat.NATIONAL)
                expected = sum(ch.isdigit() for ch in national)
            assert _cn_national_length(nsn[:6], length) == expected, nsn
