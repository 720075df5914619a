"""Safe copies of the database: `backup_to`, `auto_backup` (before bulk changes, the last
`AUTO_KEEP` kept), `check_file` and `restore_into`.

Every copy goes through SQLite's online backup API, never a file copy: a WAL database's
committed data may still sit in the `-wal` file, and copying the main file under a writer gives a
torn copy. A backup is written to a temporary name beside its destination, switched to a
self-contained rollback-journal file, checked (`PRAGMA quick_check`, schema, `meta`), synced and
only then renamed into place, so a backup path never holds a half-written file.

Restoring also uses the backup API, in the other direction, into the live database: the copy
happens inside one write transaction of the live file, so other crmcli processes wait for it (busy
timeout) and then see either the old or the restored data, never a mix; replacing the file under
them instead could splice their `-wal` onto the wrong database.

Automatic backups live in `<directory of the database>/backups/`, named
`<db stem>.auto-<UTC time, to the microsecond>-<reason>.db` so they sort by time and several
databases can share a directory; only those are pruned, never a backup made by hand.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import CrmError, DatabaseBusy, InputFileError, InvalidInput, NotConfigured
from crmcli.store import translate_error

if TYPE_CHECKING:
    from crmcli.store import Store

AUTO_KEEP = 10
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


@dataclass
class BackupInfo:
    """What a checked database file holds (never any contact detail)."""

    path: Path
    bytes: int
    schema_version: int
    db_id: str | None
    customers: int
    interactions: int


def backups_dir(store: Store) -> Path:
    return store.path.parent / "backups"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _give_up_when_busy(path: Path) -> Any:
    """A backup progress callback that turns 'still locked after the busy timeout' into exit 75.

    Python's `Connection.backup` otherwise retries a busy step forever; the busy handler has
    already waited `CRMCLI_BUSY_TIMEOUT` by the time a step reports BUSY.
    """

    def progress(status: int, remaining: int, total: int) -> None:
        if status in (_SQLITE_BUSY, _SQLITE_LOCKED):
            raise DatabaseBusy(
                f"database {path} is busy (another crmcli is writing); try again later",
                hint="raise CRMCLI_BUSY_TIMEOUT (seconds) to wait longer",
            )

    return progress


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_with_sidecars(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            Path(f"{path}{suffix}").unlink()


def backup_to(store: Store, path: Path) -> BackupInfo:
    """Write a consistent, checked copy of the open database to `path` (replaced if present)."""
    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
        _remove_with_sidecars(tmp)
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)  # customer data: owner only
        os.close(fd)
    except OSError as exc:
        raise InputFileError(f"cannot write a backup to {path}: {exc.strerror or exc}") from None
    try:
        dest = sqlite3.connect(tmp, isolation_level=None)
        try:
            # One step copies every page inside one read transaction of the source: a snapshot.
            # Under WAL, writers carry on meanwhile; they never see this reader.
            store.conn.backup(dest, pages=-1, progress=_give_up_when_busy(store.path))
            # The copied header says WAL; a backup should be one self-contained file.
            dest.execute("PRAGMA journal_mode = DELETE")
        finally:
            dest.close()
        info = check_file(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
        with contextlib.suppress(OSError):  # not every file system can sync a directory
            _fsync(path.parent)
    except sqlite3.Error as exc:
        _remove_with_sidecars(tmp)
        raise translate_error(exc, store.path) from None
    except OSError as exc:
        _remove_with_sidecars(tmp)
        raise InputFileError(f"cannot write a backup to {path}: {exc.strerror or exc}") from None
    except BaseException:
        _remove_with_sidecars(tmp)
        raise
    info.path = path
    return info


def default_backup_path(store: Store) -> Path:
    return backups_dir(store) / f"{store.path.stem}-{_stamp()}.db"


def auto_backup(store: Store, reason: str, *, keep: int = AUTO_KEEP) -> Path:
    """Back up before a bulk change; keep the newest `keep` automatic backups of this database.

    Call it before opening the write transaction of the change. Returns the backup's path (say
    it to the user: it is how they undo the change).
    """
    label = re.sub(r"[^a-z0-9]+", "-", reason.lower()).strip("-") or "auto"
    folder = backups_dir(store)
    prefix = f"{store.path.stem}.auto-"
    # Microseconds: names sort in the order the backups were taken, which pruning relies on.
    while True:
        path = folder / f"{prefix}{datetime.now(UTC).strftime('%Y%m%dT%H%M%S.%fZ')}-{label}.db"
        if not path.exists():
            break
    backup_to(store, path)
    autos = sorted(p for p in folder.glob(f"{prefix}*.db") if p.is_file())
    for old in autos[: max(len(autos) - keep, 0)]:
        with contextlib.suppress(OSError):
            old.unlink()
    return path


def list_auto_backups(store: Store) -> list[Path]:
    folder = backups_dir(store)
    return sorted(p for p in folder.glob(f"{store.path.stem}.auto-*.db") if p.is_file())


def check_file(path: Path) -> BackupInfo:
    """Open `path` read-only and check it is an undamaged crmcli database; InvalidInput if not."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputFileError(f"{path}: no such backup file")
    if path.stat().st_size == 0:
        raise InvalidInput(f"{path} is empty, not a crmcli backup")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputFileError(f"cannot open {path} ({exc})") from None
    try:
        problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchmany(3)]
        if problems != ["ok"]:
            raise InvalidInput(f"{path} is damaged: {'; '.join(problems)}")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"meta", "customers", "interactions"} <= tables:
            raise InvalidInput(f"{path} is an SQLite file but not a crmcli database")
        db_id = conn.execute("SELECT value FROM meta WHERE key = 'db_id'").fetchone()
        customers = conn.execute(
            "SELECT COUNT(*) FROM customers WHERE merged_into IS NULL"
        ).fetchone()[0]
        interactions = conn.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
    except CrmError:
        raise
    except sqlite3.Error as exc:
        text = str(exc).lower()
        if "not a database" in text or "malformed" in text or "encrypted" in text:
            raise InvalidInput(f"{path} is not a crmcli database or is damaged ({exc})") from None
        raise InputFileError(f"cannot read {path} ({exc})") from None
    finally:
        conn.close()
    return BackupInfo(
        path=path,
        bytes=path.stat().st_size,
        schema_version=version,
        db_id=db_id[0] if db_id else None,
        customers=int(customers),
        interactions=int(interactions),
    )


def check_restorable(store: Store, info: BackupInfo, *, allow_other_database: bool) -> None:
    """Refuse a backup from a newer crmcli (exit 78) and, unless `allow_other_database`, one of
    a different database (its contact details would need that database's key)."""
    from crmcli.migrations import SCHEMA_VERSION

    if info.schema_version > SCHEMA_VERSION:
        raise NotConfigured(
            f"{info.path} was written by a newer crmcli (schema {info.schema_version}; this one"
            f" knows {SCHEMA_VERSION}); upgrade crmcli to restore it"
        )
    ours = store.meta("db_id")
    if info.db_id != ours and not allow_other_database:
        raise InvalidInput(
            f"{info.path} is a backup of another database (id {info.db_id}; this one is"
            f" {ours}); its contact details need that database's key",
            hint="pass --other-database to restore it anyway",
        )


def restore_into(store: Store, info: BackupInfo) -> None:
    """Replace the live database's content with the checked backup `info.path`, atomically.

    The caller has run `check_restorable` and taken an `auto_backup` of the current content.
    """
    try:
        source = sqlite3.connect(f"{info.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            theirs = source.execute("PRAGMA page_size").fetchone()[0]
            ours = store.scalar("PRAGMA page_size")
            if theirs != ours:  # SQLite cannot change a WAL database's page size in place
                raise InvalidInput(
                    f"{info.path} uses {theirs}-byte pages and the database {ours}-byte pages;"
                    " restore it by hand with the sqlite3 shell (.restore)"
                )
            # One step: the whole copy is one write transaction of the live database.
            source.backup(store.conn, pages=-1, progress=_give_up_when_busy(store.path))
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise translate_error(exc, store.path) from None
