"""Nothing stored is more plaintext of a phone or an email than its masked copy shows.

A database is populated through the commands a user runs (add, edit, remove, log, search by
phone and by last four digits, reveal, archive, delete, key export), then every cell of every
table — shadow tables of the full-text index included — and the raw bytes of the database and its
WAL are scanned for:

- any run of 5 or more digits of a phone used (the masked copy `139****4321` shows at most 4 in
  a row), whatever separators it was typed with (`139-8765 4321`);
- any 5 characters in a row of an email's local part (the masked copy shows one).

The raw-byte scan also catches plaintext that was written and deleted (free pages keep it).
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmcli.cli import app

runner = CliRunner()

# (as typed, every digit string a leak could take: national number, E.164 without "+").
PHONES = {
    "13987654321": ("13987654321", "8613987654321"),
    "+86 158-2468-1357": ("15824681357", "8615824681357"),
    "+1 (415) 555-0134": ("4155550134", "14155550134"),
    "010-8765 4329": ("1087654329", "861087654329", "87654329"),
    "0755-2690 3571 转 801": ("75526903571", "8675526903571", "26903571"),
}
EMAILS = ("hidden.local77@example.com", "QX.Private+tag@Corp.CN", "zeta.omega@mail.test")
WINDOW = 5
# A run of digits, as people type phones: separated by spaces, dashes, dots or parentheses.
_PHONE_LIKE = re.compile(r"\d[\d\s\-().+/]*\d")
# Keyed hashes and ids are hex: their digits are chance, not a phone (a 16-byte hash has ~20).
_HEX_TOKEN = re.compile(r"[0-9a-f]{16,}")


def _windows(text: str) -> set[str]:
    return {text[i : i + WINDOW] for i in range(len(text) - WINDOW + 1)}


DIGIT_WINDOWS = set().union(*(_windows(d) for forms in PHONES.values() for d in forms))
EMAIL_WINDOWS = set().union(*(_windows(e.split("@")[0].lower()) for e in EMAILS))


def crm(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout


def leaks(text: str) -> list[str]:
    """The forbidden fragments found in one stored text."""
    found = []
    scrubbed = _HEX_TOKEN.sub(" ", text)
    for run in _PHONE_LIKE.findall(scrubbed):
        digits = re.sub(r"\D", "", run)
        found += [w for w in _windows(digits) if w in DIGIT_WINDOWS]
    lowered = text.lower()
    found += [w for w in EMAIL_WINDOWS if w in lowered]
    return found


@pytest.fixture
def populated(isolated: Path, tmp_path: Path) -> Path:
    crm("init")
    phones = list(PHONES)
    crm("add", "张伟", "--company", "深圳某某科技有限公司", "-p", phones[0], "-e", EMAILS[0])
    crm("add", "Ann Lee", "-p", phones[1], "-p", phones[2], "-e", EMAILS[1], "-t", "vip")
    crm("add", "Bob Stone", "-p", phones[3], "-e", EMAILS[2])
    crm("edit", "1", "-p", phones[4], "--status", "customer")
    crm("edit", "2", "--remove-phone", phones[2], "--remove-email", EMAILS[1].upper())
    crm("edit", "2", "-e", EMAILS[1])
    crm("log", "1", "called about the order", "-c", "call", "--next", "2030-01-01")
    # Lookups by full phone and email (keyed hashes) and by the last four digits.
    assert "张伟" in crm("search", phones[0])
    assert "Ann Lee" in crm("search", EMAILS[1])
    assert "Bob Stone" in crm("search", "4329")
    crm("show", "1", "--reveal")
    crm("search", "--reveal")
    crm("archive", "2")
    crm("delete", "3", "--yes")
    crm("history", "--limit", "0")
    crm("key", "export", "-o", str(tmp_path / "exported.key"))
    # TODO(import/dedupe engineers): run `import` of a sheet holding PHONES/EMAILS and `dedupe`
    # / `merge` here too, so their tables (and any blocking keys) are scanned the same way.
    return isolated


def test_the_population_really_stored_contact_details(populated: Path) -> None:
    with closing(sqlite3.connect(populated)) as conn:
        phones = conn.execute("SELECT COUNT(*) FROM phones").fetchone()[0]
        emails = conn.execute("SELECT COUNT(*) FROM emails").fetchone()[0]
    assert (phones, emails) == (3, 2)  # Bob (deleted) took his; one phone removed from Ann


def test_no_table_or_column_holds_more_than_the_masked_copy(populated: Path) -> None:
    found: list[str] = []
    with closing(sqlite3.connect(populated)) as conn:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        assert {"customers", "phones", "emails", "audit", "search_fts_data"} <= set(tables)
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, bytes):
                        text = value.decode("latin-1")
                    elif value is None:
                        continue
                    else:
                        text = str(value)
                    found += [f"{table}.{column}: {leak!r}" for leak in leaks(text)]
    assert found == []


def test_no_plaintext_in_the_raw_files(populated: Path) -> None:
    files = [populated, *populated.parent.glob(populated.name + "-*")]
    for path in files:
        data = path.read_bytes().decode("latin-1")
        # Keyed hashes of deleted rows linger in free pages; their digits are chance.
        digits = _HEX_TOKEN.sub(" ", data)
        assert [w for w in DIGIT_WINDOWS if w in digits] == [], path
        assert [w for w in EMAIL_WINDOWS if w in data.lower()] == [], path


def test_the_scanner_finds_what_it_looks_for() -> None:
    assert leaks("call 139-8765 4321 now")
    assert leaks('{"phone": "+8613987654321"}')
    assert leaks("mail HIDDEN.LOCAL77@example.com")
    assert not leaks("139****4321 h***@example.com 2030-01-01T10:00:00Z")
    assert not leaks("e164_hash 5d41402abc4b2a76b9719d911017c592")


# --------------------------------------------------------------------------- refused identifiers

# (as typed, its digits): a Chinese resident ID, a bank card (Luhn), an IBAN, a US SSN.
SENSITIVE = [
    ("11010519491231002X", "11010519491231002"),
    ("4111 1111 1111 1111", "4111111111111111"),
    ("DE89 3704 0044 0532 0130 00", "89370400440532013000"),
    ("078-05-1120", "078051120"),
]


@pytest.mark.parametrize(("number", "digits"), SENSITIVE)
def test_sensitive_identifiers_are_refused_everywhere_and_never_echoed(
    populated: Path, number: str, digits: str
) -> None:
    from crmcli.errors import ExitCode

    def dump() -> list[list[tuple]]:
        with closing(sqlite3.connect(populated)) as conn:
            return [
                conn.execute(f"SELECT * FROM {t}").fetchall()
                for t in ("customers", "interactions", "audit", "tags")
            ]

    before = dump()
    for args in (
        ("add", f"Someone {number}"),
        ("add", "Someone", "--note", f"身份证 {number}"),
        ("add", "Someone", "--company", f"Acme {number}"),
        ("add", "Someone", "--tag", number),
        ("edit", "1", "--note", f"card: {number}"),
        ("edit", "1", "--needs", number),
        ("log", "1", f"asked for {number}"),
        ("log", "1", "called", "--outcome", f"gave {number}"),
    ):
        result = runner.invoke(app, list(args))
        assert result.exit_code == ExitCode.DATA_ERR, (args, result.stderr)
        assert result.stderr.startswith("Error: ") and "never stored" in result.stderr
        echoed = re.sub(r"\D", "", result.stderr)
        assert digits[:-4] not in echoed and number not in result.stderr, result.stderr
    assert dump() == before
    raw = b"".join(p.read_bytes() for p in populated.parent.glob(populated.name + "*"))
    assert digits.encode() not in raw and number.encode() not in raw
