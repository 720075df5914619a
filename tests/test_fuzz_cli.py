"""Fuzzing the command line: whatever text a user or a script passes to `add`, `edit`, `log`,
`search` and `show`, crmcli answers with a documented exit code (never 1, never a traceback),
and a refused command leaves the database exactly as it was.

The text mixes arbitrary Unicode (control characters included) with fragments chosen to hurt:
spreadsheet formulas, shell and markup syntax, SQL/FTS/LIKE syntax, emoji sequences, right-to-left
and mixed scripts, full-width digits, numbers that look like phones or like refused IDs, lone
surrogates (what non-UTF-8 bytes in argv become) and strings of tens of kilobytes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from crmcli.cli import app
from crmcli.errors import ExitCode

runner = CliRunner()

FRAGMENTS = [
    "=SUM(A1:A9)",
    '=HYPERLINK("http://x")',
    "+1-2",
    "@cmd",
    "-rf",
    "--yes",
    "🎉",
    "👨\u200d👩\u200d👧",
    "مرحبا سالم",
    "\u202eevil",
    "\u200b",
    "张伟",
    "張偉",
    "Zhang Wei",
    "ＡＢＣ１２３",
    "13812345678",
    "+86 138-1234-5678",
    "(415) 555-0134",
    "11010519491231002X",
    "4111 1111 1111 1111",
    "123-45-6789",
    "%",
    "_",
    "'",
    '"',
    "NEAR(",
    "*",
    " AND ",
    ":",
    "\\",
    "\x00",
    "\x1b[31m",
    "\r\n",
    "\t",
    "[bold]",
    "$(id)",
    "`id`",
    "NaN",
    "1e308",
    "-0",
    "2024-13-45",
    "tomorrow",
    "a@b",
    "x@example.com",
    "\udcff",  # a byte that is not UTF-8, as Python's argv decoding hands it over
]

ALLOWED = {0, ExitCode.USAGE, ExitCode.NOT_FOUND, ExitCode.DATA_ERR}

texts = st.one_of(
    st.text(max_size=30),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=6).map("".join),
    st.builds(
        lambda piece, times: piece * times,
        st.sampled_from([*FRAGMENTS, "x", "张", "9"]),
        st.integers(1_000, 20_000),
    ),
)
maybe = st.one_of(st.none(), texts)
# Kept small for the everyday suite (< 60 s); CRMCLI_FUZZ_EXAMPLES=1000 for a deep run.
EXAMPLES = int(os.environ.get("CRMCLI_FUZZ_EXAMPLES", "30"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def crm(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def dump(db: Path) -> list[list[tuple]]:
    """Everything a command could change, row by row."""
    tables = ("customers", "phones", "emails", "tags", "interactions", "audit", "search_terms")
    with closing(sqlite3.connect(db)) as conn:
        return [conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables]


def options(**values: str | None) -> list[str]:
    out: list[str] = []
    for flag, value in values.items():
        if value is not None:
            out += [f"--{flag.replace('_', '-')}", value]
    return out


def check(args: list[str], db: Path, *, changes: bool) -> tuple[int, str]:
    """Run one command; assert the contract; return the exit code and stdout."""
    before = dump(db)
    code, out, err = crm(*args)
    assert code in ALLOWED, (code, err[-500:])
    assert "Traceback" not in out + err
    if code != 0:
        assert dump(db) == before, f"exit {code} but the database changed"
        if code != ExitCode.USAGE:  # Typer's own usage errors have their own layout
            lines = err.strip().splitlines()
            assert lines[0].startswith("Error: ") and len(lines) <= 1 + 20, err[-500:]
            assert all(line.startswith(("Hint: ", "  #")) for line in lines[1:]), err[-500:]
    elif not changes:
        assert dump(db) == before
    return code, out


@pytest.fixture
def db(isolated: Path) -> Path:
    assert crm("init")[0] == 0
    assert crm("add", "Anchor Person", "-p", "13900001111", "-e", "anchor@example.com")[0] == 0
    return isolated


@FUZZ
@given(name=texts, company=maybe, note=maybe, tag=maybe, city=maybe, phone=maybe, email=maybe)
def test_add(
    db: Path,
    name: str,
    company: str | None,
    note: str | None,
    tag: str | None,
    city: str | None,
    phone: str | None,
    email: str | None,
) -> None:
    args = ["add", name, *options(company=company, note=note, tag=tag, city=city)]
    args += options(phone=phone, email=email)
    check(args, db, changes=True)


@FUZZ
@given(
    name=maybe,
    status=maybe,
    note=maybe,
    next_=maybe,
    clear=maybe,
    remove_phone=maybe,
    email=maybe,
)
def test_edit(
    db: Path,
    name: str | None,
    status: str | None,
    note: str | None,
    next_: str | None,
    clear: str | None,
    remove_phone: str | None,
    email: str | None,
) -> None:
    args = ["edit", "1", *options(name=name, status=status, note=note, next=next_, clear=clear)]
    args += options(remove_phone=remove_phone, email=email)
    check(args, db, changes=True)


@FUZZ
@given(
    ref=st.one_of(st.just("1"), texts),
    text=texts,
    channel=maybe,
    at=maybe,
    next_=maybe,
    outcome=maybe,
)
def test_log(
    db: Path,
    ref: str,
    text: str,
    channel: str | None,
    at: str | None,
    next_: str | None,
    outcome: str | None,
) -> None:
    args = ["log", ref, text, *options(channel=channel, at=at, next=next_, outcome=outcome)]
    check(args, db, changes=True)


@settings(FUZZ, max_examples=max(1, EXAMPLES * 2 // 3))  # two commands an example
@given(query=texts, tag=maybe, city=maybe, status=maybe)
def test_search_and_show_change_nothing(
    db: Path, query: str, tag: str | None, city: str | None, status: str | None
) -> None:
    args = ["search", query, *options(tag=tag, city=city, status=status), "-f", "json"]
    code, out = check(args, db, changes=False)
    if code == 0:
        assert isinstance(json.loads(out), list)
    check(["show", query, "-f", "json"], db, changes=False)


# --------------------------------------------------------------------------- search is literal


SPECIAL_NAMES = [
    "100% Cotton",
    "a_b Trading",
    "O'Brien",
    'Say "Hi" Ltd',
    "x*y Labs",
    "NEAR(alpha beta)",
    "co-op store",
    "key:value Inc",
    "back\\slash",
]


LITERAL_QUERIES = [
    ("100%", "100% Cotton"),
    ("a_b", "a_b Trading"),
    ("O'B", "O'Brien"),
    ('"Hi"', 'Say "Hi" Ltd'),
    ("x*y", "x*y Labs"),
    ("NEAR(alpha", "NEAR(alpha beta)"),
    ("co-op", "co-op store"),
    ("key:v", "key:value Inc"),
    ("back\\", "back\\slash"),
]
OPERATORS = ["%", "_", "%%", "_%_", "*", "' OR 1=1 --", '" OR "', "NOT x", "NEAR(", '"', "-", ":"]


def test_search_syntax_is_taken_literally(db: Path) -> None:
    for name in SPECIAL_NAMES:
        assert crm("add", name)[0] == 0
    for query, expected in LITERAL_QUERIES:
        code, out, err = crm("search", query, "-f", "json")
        assert code == 0, (query, err)
        assert json.loads(out)[0]["name"] == expected, query
    for query in OPERATORS:
        code, out, err = crm("search", query, "-f", "json")
        assert code == 0, (query, err)
        names = [r["name"] for r in json.loads(out)]
        # Whatever matches holds the query's text; nothing matches for being a wildcard.
        assert "Anchor Person" not in names, query
        assert all(query.strip("%_* ").casefold() in n.casefold() for n in names), (query, names)


def test_non_utf8_bytes_in_argv_are_refused_cleanly(db: Path) -> None:
    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"crmcli", b"add", b"\xff\xfebad", b"--city", b"\xe9"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == ExitCode.DATA_ERR
    assert result.stderr.startswith(b"Error: name: not valid UTF-8")
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        # Found by the fuzzer: a NOT NULL column emptied reached SQL (exit 1).
        ("edit", "1", "--status", ""),
        ("edit", "1", "--kind", ""),
        # Found by the fuzzer: one SELECT per query word overflowed SQLite's compound limit.
        ("search", " ".join(f"w{i}" for i in range(600))),
        ("show", " ".join(f"w{i}" for i in range(600))),
        ("log", " ".join(f"w{i}" for i in range(600)), "hello"),
        # Found by the fuzzer: '²'.isdigit() is true, and int('²') raised.
        ("log", "²", "hello"),
        ("show", "١٢"),
        ("history", "#²"),
    ],
    ids=[
        "empty-status",
        "empty-kind",
        "search-600-words",
        "show-600-words",
        "log-600-words",
        "log-superscript-id",
        "show-arabic-digits",
        "history-superscript-id",
    ],
)
def test_regressions(db: Path, args: tuple[str, ...]) -> None:
    check(list(args), db, changes=False)
