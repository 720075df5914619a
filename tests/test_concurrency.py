"""Running side by side, with real processes: readers never wait for a writer, a writer waits
for the busy timeout and then exits 75 cleanly, concurrent writers lose nothing, and a long
report never blocks `crmcli log`."""

from __future__ import annotations

import csv
import io
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crmcli.errors import ExitCode
from crmcli.store import customers as customers_db
from crmcli.store import open_store
from crmcli.store import reports as reports_db

CRM = [sys.executable, "-m", "crmcli"]

# Holds the write lock (BEGIN IMMEDIATE, with an uncommitted row) until a line arrives on stdin.
HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO customers (name, created_at, updated_at)"
             " VALUES ('Uncommitted', '2000-01-01T00:00:00Z', '2000-01-01T00:00:00Z')")
print("locked", flush=True)
sys.stdin.readline()
conn.execute(sys.argv[2])
"""

# One writer loop: N interactions through the same code path as `crmcli log`, each with its
# own connection, as N separate `crmcli log` runs would.
WRITER = """
import sys
from crmcli.operations import interactions
from crmcli.store import open_store
db, customer, tag, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
for i in range(n):
    with open_store(__import__("pathlib").Path(db)) as store:
        store.command = "log"
        interactions.log(store, customer, f"{tag} {i}", channel="call",
                         at=f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z")
"""


def make_customers(db: Path, n: int) -> list[int]:
    """`n` customers created long ago (so all are stale), straight through the store."""
    store = open_store(db, create=True)
    with store.write():
        ids = [
            customers_db.insert(
                store,
                {"name": f"Customer {i:05d}", "kind": "person", "status": "lead"},
                created_at="2020-01-01T00:00:00Z",
            )
            for i in range(n)
        ]
    store.close()
    return ids


def start(*args: str, env: dict[str, str] | None = None, **kw: object) -> subprocess.Popen[str]:
    import os

    return subprocess.Popen(
        [*CRM, *args],
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,  # type: ignore[arg-type]
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


@contextmanager
def write_lock(db: Path, end: str = "ROLLBACK") -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), end],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    try:
        yield holder
    finally:
        if holder.poll() is None:
            holder.communicate("go\n", timeout=30)


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_readers_go_on_and_writers_give_up_with_75_while_the_lock_is_held(
    isolated: Path, tmp_path: Path
) -> None:
    make_customers(isolated, 3)
    impatient = {"CRMCLI_BUSY_TIMEOUT": "0.5"}
    with write_lock(isolated) as holder:
        readers = {
            "stale": start("stale", "--format", "csv", env=impatient),
            "stats": start("stats", "--format", "json", env=impatient),
            "backup": start("backup", str(tmp_path / "during.db"), env=impatient),
        }
        writers = {
            "stale --new-only": start("stale", "--new-only", "-f", "csv", env=impatient),
            "log": start("log", "1", "called", env=impatient),
        }
        results = {name: finish(p) for name, p in {**readers, **writers}.items()}
        assert holder.poll() is None  # all of that happened while the lock was held
    for name in readers:
        code, out, err = results[name]
        assert code == 0, (name, err)
    code, out, _ = results["stale"]
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["name"] for r in rows] == ["Customer 00000", "Customer 00001", "Customer 00002"]
    for name in writers:
        code, out, err = results[name]
        assert code == ExitCode.BUSY, (name, code, err)
        assert out == "" and "Traceback" not in err  # nothing partial on stdout
        first = err.splitlines()[0]
        assert first.startswith("Error: database") and "busy" in first
    # Nothing was recorded by the run that gave up; the backup holds committed rows only.
    store = open_store(isolated)
    assert reports_db.report_state_ids(store, "stale") == []
    store.close()
    backup = sqlite3.connect(tmp_path / "during.db")
    assert backup.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 3
    backup.close()
    assert integrity(isolated) == "ok"


def test_writers_wait_for_the_lock_then_succeed(isolated: Path) -> None:
    make_customers(isolated, 2)
    with write_lock(isolated, end="COMMIT") as holder:
        waiting = [
            # (dated before the customers were created: they stay stale whichever runs first)
            start("log", "1", "called while locked", "--channel", "call", "--at", "2019-06-01"),
            start("stale", "--new-only", "--report", "nightly", "-f", "csv"),
        ]
        time.sleep(1.0)  # long enough that both are queued behind the lock
        assert all(p.poll() is None for p in waiting)  # they are waiting, not failing
        holder.communicate("go\n", timeout=30)
        results = [finish(p) for p in waiting]
    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    out = results[1][1]
    names = [r["name"] for r in csv.DictReader(io.StringIO(out))]
    assert names[0] == "Uncommitted" and len(names) == 3  # it saw the holder's commit
    store = open_store(isolated)
    assert len(reports_db.report_state_ids(store, "nightly")) == 3
    assert customers_db.interaction_count(store, 1) == 1
    store.close()


def test_two_writers_lose_nothing(isolated: Path) -> None:
    a, b = make_customers(isolated, 2)
    loops = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(isolated), str(cid), tag, "50"])
        for cid, tag in ((a, "A"), (b, "B"))
    ]
    # Meanwhile, real `crmcli log` processes on the same customers, and a reader.
    clis = [start("log", str(cid), f"cli {cid}.{n}") for n in range(3) for cid in (a, b)]
    report = start("stale", "--format", "csv")
    assert [p.wait(timeout=120) for p in loops] == [0, 0]
    assert [finish(p)[0] for p in clis] == [0] * 6
    assert finish(report)[0] == 0
    store = open_store(isolated)
    for cid, tag in ((a, "A"), (b, "B")):
        timeline = [r["summary"] for r in store.query(
            "SELECT summary FROM interactions WHERE customer_id = ?", (cid,)
        )]  # fmt: skip
        assert sorted(s for s in timeline if s.startswith(tag)) == sorted(
            f"{tag} {i}" for i in range(50)
        )
        assert len(timeline) == 53
        row = customers_db.fetch_row(store, cid)
        assert row is not None and row["last_contacted_at"] > "2026-01-01T00:00:49Z"
    logs = store.scalar("SELECT COUNT(*) FROM audit WHERE action = 'log'")
    assert logs == 106
    store.close()
    assert integrity(isolated) == "ok"


def test_a_long_report_never_blocks_log(isolated: Path) -> None:
    ids = make_customers(isolated, 2500)
    report = start("stale", "--format", "csv")
    assert report.stdout is not None
    header = report.stdout.readline()
    assert header.startswith("id,")
    # The report now sits mid-stream: the pipe is full and nobody reads it. Its read snapshot
    # stays open the whole time; writers must not care.
    time.sleep(0.5)
    assert report.poll() is None
    impatient = {"CRMCLI_BUSY_TIMEOUT": "0.5"}
    code, _, err = finish(start("log", str(ids[0]), "called during the report", env=impatient))
    assert code == 0, err
    code, _, err = finish(start("stale", "--new-only", "-f", "csv", env=impatient))
    assert code == 0, err
    assert report.poll() is None  # still mid-report
    code, rest, err = finish(report)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(rest)))
    # One consistent snapshot, taken before the log: all 2,500, each once.
    assert len(rows) == 2500 and len({r[0] for r in rows}) == 2500
    assert integrity(isolated) == "ok"


@pytest.mark.parametrize("command", [("stale", "-f", "csv"), ("stats", "-f", "json")])
def test_reports_need_no_key_and_no_terminal(
    isolated: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    make_customers(isolated, 1)
    # The key file is gone and no keyring answers: a report must not care.
    env = {"CRMCLI_CONFIG_DIR": str(tmp_path / "empty-config"), "CRMCLI_KEY_FILE": ""}
    code, out, err = finish(start(*command, env=env))
    assert code == 0, err
    assert "Customer 00000" in out if command[0] == "stale" else '"now": 1' in out
