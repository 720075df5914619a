"""Backups: consistent copies through SQLite's backup API, automatic backups kept N deep, and
restoring a backup into the live database."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmcli.cli import app
from crmcli.errors import ExitCode, InputFileError, InvalidInput, NotConfigured
from crmcli.migrations import SCHEMA_VERSION
from crmcli.models import build_draft
from crmcli.operations import backups, customers
from crmcli.store import Store, open_store
from crmcli.store import backup as backup_db

runner = CliRunner()


@pytest.fixture
def store(isolated: Path) -> Store:
    s = open_store(isolated, create=True)
    s.command = "test"
    return s


def add(store: Store, name: str, **values: object) -> int:
    return customers.add(store, build_draft({"name": name, **values})).id


def live_names(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM customers ORDER BY id")]
    finally:
        conn.close()


def test_backup_is_a_checked_self_contained_private_file(store: Store, tmp_path: Path) -> None:
    add(store, "Ann", phones=["13812345678"])
    target = tmp_path / "out" / "copy.db"
    info = backup_db.backup_to(store, target)
    assert info.path == target and info.customers == 1 and info.schema_version == SCHEMA_VERSION
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["copy.db"]  # no temp, no -wal
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert live_names(target) == ["Ann"]


def test_backup_includes_what_only_the_wal_holds(store: Store, tmp_path: Path) -> None:
    add(store, "Committed but not checkpointed")
    # A file copy of the main database file misses it: the commit is still in the -wal file.
    raw = tmp_path / "filecopy.db"
    raw.write_bytes(store.path.read_bytes())
    try:
        in_copy = live_names(raw)
    except sqlite3.OperationalError:  # not even the schema: that is in the -wal too
        in_copy = []
    assert "Committed but not checkpointed" not in in_copy
    info = backup_db.backup_to(store, tmp_path / "api.db")
    assert live_names(info.path) == ["Committed but not checkpointed"]


def test_backup_while_a_writer_holds_the_lock_copies_only_committed_data(
    store: Store, tmp_path: Path
) -> None:
    add(store, "Before")
    writer = sqlite3.connect(store.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(
        "INSERT INTO customers (name, created_at, updated_at) VALUES ('Uncommitted', 'x', 'x')"
    )
    try:
        info = backup_db.backup_to(store, tmp_path / "b.db")  # a reader: it does not wait
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert live_names(info.path) == ["Before"]


def test_auto_backups_keep_the_newest_n_and_only_touch_their_own(
    store: Store, tmp_path: Path
) -> None:
    folder = backup_db.backups_dir(store)
    folder.mkdir()
    mine = folder / "crm-by-hand.db"
    theirs = folder / "other.auto-20200101T000000Z-import.db"
    for keep_me in (mine, theirs):
        keep_me.write_bytes(b"")
    made = [backup_db.auto_backup(store, "Bulk Archive!", keep=3) for _ in range(5)]
    assert all(p.name.startswith("crm.auto-") and p.name.endswith(".db") for p in made)
    assert "-bulk-archive" in made[0].name
    assert len(set(made)) == 5  # within one second: still distinct names, in order
    assert backup_db.list_auto_backups(store) == sorted(made)[-3:]
    assert mine.exists() and theirs.exists()


def test_restore_swaps_content_keeps_wal_and_saves_the_current(
    store: Store, tmp_path: Path
) -> None:
    add(store, "Original")
    saved = backup_db.backup_to(store, tmp_path / "good.db").path
    add(store, "Added later")
    watcher = open_store(store.path)  # another process with the database open
    assert len(watcher.query("SELECT id FROM customers")) == 2
    done = backups.restore_backup(store, saved)
    assert live_names(store.path) == ["Original"]
    assert len(watcher.query("SELECT id FROM customers")) == 1  # sees the restored content
    assert store.scalar("PRAGMA journal_mode") == "wal"
    assert store.scalar("PRAGMA integrity_check") == "ok"
    assert live_names(done.previous_saved_to) == ["Original", "Added later"]
    assert "before-restore" in done.previous_saved_to.name
    actions = [r["action"] for r in store.query("SELECT action FROM audit ORDER BY id")]
    assert actions[-1] == "restore-backup"
    watcher.close()


def test_restore_refuses_bad_files(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such backup"):
        backups.restore_backup(store, tmp_path / "missing.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 200)
    with pytest.raises(InvalidInput, match="not a crmcli database or is damaged"):
        backups.restore_backup(store, junk)
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE x (y)")
    other.close()
    with pytest.raises(InvalidInput, match="not a crmcli database"):
        backups.restore_backup(store, tmp_path / "other.db")
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(InvalidInput, match="empty"):
        backups.restore_backup(store, tmp_path / "empty.db")
    assert not backup_db.list_auto_backups(store)  # nothing refused costs a backup


def test_restore_refuses_a_newer_schema_and_another_database(store: Store, tmp_path: Path) -> None:
    newer = backup_db.backup_to(store, tmp_path / "newer.db").path
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(NotConfigured, match="newer crmcli"):
        backups.restore_backup(store, newer)
    elsewhere = open_store(tmp_path / "elsewhere.db", create=True)
    other = backup_db.backup_to(elsewhere, tmp_path / "elsewhere-backup.db").path
    other_id = elsewhere.meta("db_id")
    elsewhere.close()
    with pytest.raises(InvalidInput, match="another database"):
        backups.restore_backup(store, other)
    backups.restore_backup(store, other, other_database=True)
    assert store.meta("db_id") == other_id


def test_damaged_backup_is_refused(store: Store, tmp_path: Path) -> None:
    for n in range(30):
        add(store, f"Customer {n}", notes="x" * 500)
    path = backup_db.backup_to(store, tmp_path / "b.db").path
    data = bytearray(path.read_bytes())
    data[5 * 4096 : 6 * 4096] = b"\xff" * 4096  # scribble over a b-tree page
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidInput):
        backup_db.check_file(path)


# -- the CLI ----------------------------------------------------------------------------


def crm(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_backup_and_restore_cli(isolated: Path, tmp_path: Path) -> None:
    assert crm("init")[0] == 0
    crm("add", "Ann")
    code, out, err = crm("backup")
    assert code == 0, err
    path = Path(out.strip())
    assert path.parent == isolated.parent / "backups" and path.exists()
    assert "1 customers" in err
    code, _, err = crm("backup", str(path))
    assert code == ExitCode.USAGE and "--force" in err
    assert crm("backup", str(path), "--force")[0] == 0
    assert crm("backup", str(isolated))[0] == ExitCode.USAGE  # not over the database itself
    into_dir = Path(crm("backup", str(tmp_path))[1].strip())
    assert into_dir.parent == tmp_path

    crm("add", "Bob")
    code, out, err = crm("restore-backup", str(path))
    assert code == ExitCode.USAGE and "--yes" in err and "check ok" in err
    code, out, err = crm("restore-backup", str(path), "--yes")
    assert code == 0, err
    assert "previous content is saved as" in err
    names = [r["name"] for r in json.loads(crm("search", "-f", "json")[1])]
    assert names == ["Ann"]
    code, _, err = crm("restore-backup", str(tmp_path / "nope.db"), "--yes")
    assert code == ExitCode.NO_INPUT and err.startswith("Error: ")


def test_backup_cli_refuses_a_missing_database(isolated: Path) -> None:
    code, out, _ = crm("backup")
    assert code == ExitCode.NOT_CONFIGURED and out == ""
    assert not isolated.exists()


def test_unwritable_backup_target_is_a_clean_error(isolated: Path, tmp_path: Path) -> None:
    crm("init")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        code, _, err = crm("backup", str(locked / "b.db"))
        assert code == ExitCode.NO_INPUT and err.startswith("Error: cannot write a backup")
    finally:
        locked.chmod(0o700)
