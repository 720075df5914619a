"""Faults: a crmcli killed mid-write, and databases that are damaged, read-only or on a full disk.

Everything here runs crmcli as a real child process (`python -m crmcli`), because what is tested
is what SQLite and the OS do to a process, not what Python does inside one.

Killed mid-write: each `KillCase` runs once uninterrupted on a copy of a template database (the
"after" state), then `KILLS` times on fresh copies, SIGKILLed at points spread over its run. After
every kill the database must pass `PRAGMA integrity_check`, keep its cross-table invariants, stay
writable, and — for an atomic operation — hold exactly the state before or the state after, never
a mix. Kill points are drawn from a seeded generator (CRMCLI_FAULT_SEED to vary it); a failure
message names the seed and the delay.

Bad files: corrupt, not a database, read-only file or directory, full disk (RLIMIT_FSIZE in the
child). Each must give a one-line `Error: …` with the documented exit code, never a traceback,
and leave the file as it was.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crmcli.errors import ExitCode

CUSTOMERS = 2000
KILLS = 8
SEED = int(os.environ.get("CRMCLI_FAULT_SEED", "20261125"))
LOG_LOOP = 30


# --------------------------------------------------------------------------- the workspace


@dataclass(frozen=True)
class Workspace:
    """A copy of the template database and what a case needs to build its command line."""

    dir: Path
    db: Path
    ids: list[int]  # live customers in the template, in id order
    env: dict[str, str]

    def crmcli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "crmcli", *args]

    def python(self, code: str) -> list[str]:
        """A child that runs `code` with `app(args, standalone_mode=False)` (the whole command
        line, built once: building it costs ~150 ms a call) and `db` in scope."""
        prelude = (
            "import typer.main\nfrom crmcli.cli import load\n"
            f"app = typer.main.get_command(load()).main\ndb = {str(self.db)!r}\n"
        )
        return [sys.executable, "-c", prelude + code]

    def write_csv(self, name: str, header: list[str], rows: list[list[str]]) -> Path:
        """A sheet for an import case (UTF-8 with BOM, as Excel writes it)."""
        import csv

        path = self.dir / name
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
        return path


@dataclass(frozen=True)
class KillCase:
    name: str
    argv: Callable[[Workspace], list[str]]
    # True: one transaction, so after a kill the state is all before or all after.
    # False: a loop of small transactions; each must be whole (checked by `check`).
    atomic: bool = True
    check: Callable[[sqlite3.Connection], None] | None = None


def _logs_are_whole(conn: sqlite3.Connection) -> None:
    # Each `log` writes its interaction and its audit entry in one transaction.
    interactions = conn.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
    logged = conn.execute("SELECT COUNT(*) FROM audit WHERE action = 'log'").fetchone()[0]
    assert interactions == logged


IMPORT_HEAD = ["客户名称", "手机", "城市", "备注"]
IMPORT_ROWS = [[f"导入客户{i}", f"139{i:08d}", "深圳", f"第 {i} 行"] for i in range(1, 3001)]

KILL_CASES = [
    KillCase("archive-many", lambda ws: ws.crmcli("archive", *map(str, ws.ids))),
    KillCase(
        "log-loop",
        lambda ws: ws.python(
            f"for i in range({LOG_LOOP}):\n"
            f"    app(['log', str(1 + i % 50), f'call {{i}}', '--channel', 'call', '--db', db],"
            " standalone_mode=False)\n"
        ),
        atomic=False,
        check=_logs_are_whole,
    ),
    KillCase(
        "import",
        lambda ws: ws.crmcli("import", str(ws.write_csv("a.csv", IMPORT_HEAD, IMPORT_ROWS))),
    ),
    KillCase("merge", lambda ws: ws.crmcli("merge", *map(str, ws.ids[:300]))),
]


# --------------------------------------------------------------------------- fixtures


def _child_env(root: Path, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMCLI_")}
    env.update(
        CRMCLI_DB=str(db),
        CRMCLI_KEY_FILE=str(root / "test.key"),
        CRMCLI_CONFIG_DIR=str(root / "config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        CRMCLI_BUSY_TIMEOUT="5",
        NO_COLOR="1",
        COLUMNS="200",
    )
    return env


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[int]]]:
    """A database of CUSTOMERS customers (every tenth with a phone) and its key file."""
    from crmcli.phone_numbers import parse_phone
    from crmcli.store import customers as customers_db
    from crmcli.store import journal, open_store

    root = tmp_path_factory.mktemp("faults")
    path = root / "template.db"
    with pytest.MonkeyPatch.context() as mp:
        # Module scope runs before the per-test isolation: isolate the key here too.
        mp.setenv("CRMCLI_CONFIG_DIR", str(root / "config"))
        mp.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
        mp.delenv("CRMCLI_KEY_FILE", raising=False)
        with open_store(path, create=True, key_file=root / "test.key") as store:
            store.command = "test"
            store.create_key()
            vault = store.vault()
            with store.write():
                for i in range(CUSTOMERS):
                    phones = [parse_phone(f"139{i:08d}")] if i % 10 == 0 else []
                    fields = {"name": f"Customer {i:04d}", "kind": "person", "status": "lead"}
                    cid = customers_db.insert(store, fields, phones=phones, vault=vault)
                    journal.record(store, "add", customer_id=cid)
            ids = [r[0] for r in store.query("SELECT id FROM customers ORDER BY id")]
    yield path, ids


def _workspace(template: tuple[Path, list[int]], where: Path) -> Workspace:
    source, ids = template
    where.mkdir(parents=True, exist_ok=True)
    db = where / "crm.db"
    shutil.copyfile(source, db)
    db.chmod(0o600)
    return Workspace(where, db, ids, _child_env(source.parent, db))


# --------------------------------------------------------------------------- checks


def state(db: Path) -> dict[str, Any]:
    """What an operation changes, without times and ciphertexts (those differ run to run)."""
    with closing(sqlite3.connect(db)) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        out: dict[str, Any] = {
            t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables
        }
        out["customers*"] = conn.execute(
            "SELECT id, name, status, merged_into, archived_at IS NOT NULL,"
            " last_contacted_at IS NOT NULL FROM customers ORDER BY id"
        ).fetchall()
        out["audit*"] = conn.execute("SELECT action, customer_id FROM audit ORDER BY id").fetchall()
    return out


def assert_consistent(db: Path) -> None:
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # The derived last-contact field agrees with the timeline it is derived from.
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM customers c WHERE EXISTS"
                " (SELECT 1 FROM interactions i WHERE i.customer_id = c.id) AND"
                " c.last_contacted_at IS NOT"
                " (SELECT MAX(at) FROM interactions i WHERE i.customer_id = c.id)"
            ).fetchone()[0]
            == 0
        )
        # Every live customer is in the search index, and nothing else is.
        live = {r[0] for r in conn.execute("SELECT id FROM customers WHERE merged_into IS NULL")}
        indexed = {r[0] for r in conn.execute("SELECT rowid FROM search_fts")}
        assert indexed == live
        terms = {r[0] for r in conn.execute("SELECT DISTINCT customer_id FROM search_terms")}
        assert terms <= live


def assert_writable(db: Path) -> None:
    """No lock or journal left behind blocks the next writer."""
    from crmcli.store import open_store

    with open_store(db) as store, store.write() as conn:
        conn.execute("SELECT COUNT(*) FROM customers").fetchone()


def _start(ws: Workspace, argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        env=ws.env,
        cwd=ws.dir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_open(child: subprocess.Popen[bytes], db: Path, timeout: float = 60) -> None:
    """Return once the child has the database open: its start-up (0.3-2 s here, and erratic on
    a busy machine) is over and the operation has begun. Linux shows a process's files under
    /proc; elsewhere this returns at once and the kill points include start-up."""
    fds = Path(f"/proc/{child.pid}/fd")
    if not fds.is_dir():
        return
    target = str(db)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        try:
            if any(os.readlink(fd) == target for fd in fds.iterdir()):
                return
        except OSError:  # the child exited, or closed an fd while we looked
            pass
        time.sleep(0.002)


def _kill_points(rng: random.Random, span: float, kills: int) -> list[float]:
    """`kills` delays, one drawn in each of as many equal slices of [0, span]: spread, not
    clumped."""
    step = span / kills
    return [step * (i + rng.random()) for i in range(kills)]


# --------------------------------------------------------------------------- killed mid-write


def kill_at_random_points(
    case: KillCase, template: tuple[Path, list[int]], tmp_path: Path, kills: int = KILLS
) -> list[str]:
    """Run `case` once whole, then `kills` times killed; check each kill; say where they landed."""
    before = state(template[0])
    # The uninterrupted run: the "after" state, and how long the operation takes once started.
    reference = _workspace(template, tmp_path / "reference")
    child = _start(reference, case.argv(reference))
    _wait_for_open(child, reference.db)
    opened = time.perf_counter()
    _, err = child.communicate(timeout=120)
    span = 1.05 * (time.perf_counter() - opened)
    assert child.returncode == 0, err.decode()
    after = state(reference.db)
    assert after != before, "the operation changed nothing: the case tests nothing"
    assert_consistent(reference.db)

    rng = random.Random(f"{SEED}-{case.name}")
    outcomes = []
    for n, delay in enumerate(_kill_points(rng, span, kills)):
        ws = _workspace(template, tmp_path / f"kill{n}")
        child = _start(ws, case.argv(ws))
        _wait_for_open(child, ws.db)
        time.sleep(delay)
        finished = child.poll() is not None
        if not finished:
            child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
        where = f"seed {SEED}, kill {n} at {delay:.3f}s of {span:.3f}s after opening"
        try:
            assert_consistent(ws.db)
            got = state(ws.db)
            if case.atomic:
                assert got in (before, after), "a mix of before and after"
            if case.check is not None:
                with closing(sqlite3.connect(ws.db)) as conn:
                    case.check(conn)
            assert_writable(ws.db)
        except AssertionError as exc:
            raise AssertionError(f"{case.name}, {where}: {exc}") from exc
        outcomes.append("done" if finished else ("whole" if got == after else "cut"))
    return outcomes


@pytest.mark.parametrize("case", KILL_CASES, ids=lambda c: c.name)
def test_sigkill_leaves_a_consistent_database(
    case: KillCase, template: tuple[Path, list[int]], tmp_path: Path
) -> None:
    outcomes = kill_at_random_points(case, template, tmp_path)
    print(f"{case.name}: {outcomes}")  # shown with -s: where the kills landed


def test_the_harness_catches_an_operation_that_is_not_atomic(
    template: tuple[Path, list[int]], tmp_path: Path
) -> None:
    # Archiving one customer per transaction, claimed atomic: a kill mid-way must be caught.
    one_by_one = KillCase(
        "archive-one-by-one",
        lambda ws: ws.python(
            "from crmcli.operations.customers import set_archived\n"
            "from crmcli.store import open_store\n"
            "from pathlib import Path\n"
            "with open_store(Path(db)) as store:\n"
            "    store.command = 'archive'\n"
            "    for i in range(1, 601):\n"
            "        set_archived(store, [i], True)\n"
        ),
    )
    # Six kills, not three: on a loaded machine the killed runs can be much faster or slower
    # than the timed one, and one kill that lands mid-way is all this check needs.
    with pytest.raises(AssertionError, match="a mix of before and after"):
        kill_at_random_points(one_by_one, template, tmp_path, kills=6)


# --------------------------------------------------------------------------- damaged files


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line_error(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Error: ")
    assert all(line.startswith("Hint: ") for line in lines[1:]), lines


WRITERS_AND_READERS = [
    ("search", "Customer 0007"),
    ("show", "1"),
    ("add", "New Person"),
    ("log", "1", "called"),
    ("history",),
    ("archive", "1"),
]


def _damage_schema_page(db: Path) -> None:
    # Page 1 holds the schema after the 100-byte header: garbage there breaks every statement.
    with db.open("r+b") as fh:
        fh.seek(100)
        fh.write(random.Random(1).randbytes(3900))


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("schema page overwritten", _damage_schema_page),
        ("a text file", lambda db: db.write_text("name,phone\nAnn,13812345678\n" * 100)),
        ("a zip (xlsx)", lambda db: db.write_bytes(b"PK\x03\x04" + bytes(5000))),
    ],
)
def test_damaged_or_foreign_files_are_refused_untouched(
    name: str,
    damage: Callable[[Path], None],
    template: tuple[Path, list[int]],
    tmp_path: Path,
) -> None:
    ws = _workspace(template, tmp_path)
    damage(ws.db)
    digest = _digest(ws.db)
    for args in (("search", "x"), ("add", "New Person"), ("log", "1", "called"), ("history",)):
        result = subprocess.run(
            ws.crmcli(*args), env=ws.env, capture_output=True, text=True, timeout=60
        )
        _one_line_error(result, ExitCode.NO_INPUT)
        assert "not a crmcli database or is damaged" in result.stderr
        assert _digest(ws.db) == digest, f"{args} changed the file"


# --------------------------------------------------------------------------- read-only


_libc = ctypes.CDLL(None, use_errno=True)
_PR_CAPBSET_DROP = 24
_DAC_CAPABILITIES = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER


def _without_root_powers() -> None:
    """In the child, before exec: drop the capabilities that let root ignore file modes, so a
    read-only file or directory is read-only to it as to any user."""
    for cap in _DAC_CAPABILITIES:
        if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _as_ordinary_user() -> Callable[[], None] | None:
    if os.geteuid() != 0:
        return None
    if not sys.platform.startswith("linux"):
        pytest.skip("root elsewhere than Linux: file modes cannot be made to bind")
    probe = subprocess.run(["true"], preexec_fn=_without_root_powers, capture_output=True)
    if probe.returncode != 0:
        pytest.skip("running as root without CAP_SETPCAP: cannot make file modes bind")
    return _without_root_powers


def _content(db: Path) -> list[Any]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return [
            conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
            for t in ("customers", "phones", "interactions", "audit")
        ]


@pytest.mark.parametrize("what", ["file", "directory"])
def test_read_only_database_or_directory(
    what: str, template: tuple[Path, list[int]], tmp_path: Path
) -> None:
    preexec = _as_ordinary_user()
    ws = _workspace(template, tmp_path / "ro")
    before = _content(template[0])  # not ws.db: a read-only reader leaves its -wal/-shm behind
    digest = _digest(ws.db)
    locked = ws.db if what == "file" else ws.dir
    locked.chmod(0o444 if what == "file" else 0o555)
    try:
        runs = {
            args: subprocess.run(
                ws.crmcli(*args),
                env=ws.env,
                capture_output=True,
                text=True,
                timeout=60,
                preexec_fn=preexec,
            )
            for args in WRITERS_AND_READERS
        }
    finally:
        locked.chmod(0o600 if what == "file" else 0o755)
    for args, result in runs.items():
        if what == "file" and args[0] in ("search", "show", "history"):
            # Reading a read-only file works (SQLite keeps its WAL index beside it).
            assert result.returncode == 0, (args, result.stderr)
            continue
        _one_line_error(result, ExitCode.NO_INPUT)
        needle = "read-only" if what == "file" else "directory is read-only"
        assert needle in result.stderr, (args, result.stderr)
    assert _digest(ws.db) == digest and _content(ws.db) == before


# --------------------------------------------------------------------------- full disk


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG instead of killing
        # the child: SQLite sees a failed write, as on a full disk.
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize(
    "args",
    [
        ("archive", "*ids*"),
        ("add", "Big Note", "--note", "x " * 60_000),
        ("log", "1", "y " * 60_000),
    ],
    ids=["archive-many", "add-big", "log-big"],
)
def test_full_disk_fails_cleanly_and_loses_nothing(
    args: tuple[str, ...], template: tuple[Path, list[int]], tmp_path: Path
) -> None:
    # A checkpointed copy: the WAL starts empty, so the limit binds on this command's writes.
    ws = _workspace(template, tmp_path)
    before = _content(template[0])
    argv = [a for arg in args for a in (map(str, ws.ids) if arg == "*ids*" else [arg])]
    result = subprocess.run(
        ws.crmcli(*argv),
        env=ws.env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_file_size_limit(64 * 1024),
    )
    _one_line_error(result, ExitCode.BUSY)
    assert "disk" in result.stderr
    assert_consistent(ws.db)
    assert _content(ws.db) == before
    # With space again, the same command works.
    subprocess.run(ws.crmcli(*argv), env=ws.env, capture_output=True, timeout=60, check=True)
    assert _content(ws.db) != before
