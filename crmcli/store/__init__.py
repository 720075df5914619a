"""The one door to SQLite: opening (and migrating) the database, transactions, meta, keys.

Nothing outside `crmcli.store` runs SQL. The submodules group the queries by what they are
about (`customers`, `contacts`, `interactions`, `search`, `journal`, `reports`); this module
owns the connection and its rules:

- WAL, `synchronous=NORMAL`, a busy timeout, foreign keys on;
- every write in one `BEGIN IMMEDIATE` transaction (a deferred transaction that reads then
  writes fails at once under WAL when another process committed in between);
- opening migrates; a newer schema is refused untouched (exit 78);
- SQLite's errors become `CrmError`s with the documented exit codes, never tracebacks.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import CrmError, DatabaseBusy, InputFileError, NotConfigured, WrongKey
from crmcli.migrations import SCHEMA_VERSION

if TYPE_CHECKING:
    from crmcli.credentials import Vault

DEFAULT_BUSY_TIMEOUT_S = 10.0


def now_utc() -> str:
    """The current time as the stored UTC form, e.g. `2026-11-25T09:45:19Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_db_path() -> Path:
    env = os.environ.get("CRMCLI_DB")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("crmcli", appauthor=False)) / "crmcli.db"


def busy_timeout() -> float:
    try:
        return float(os.environ.get("CRMCLI_BUSY_TIMEOUT", DEFAULT_BUSY_TIMEOUT_S))
    except ValueError:
        return DEFAULT_BUSY_TIMEOUT_S


def translate_error(exc: sqlite3.Error, path: Path) -> CrmError:
    """Turn an SQLite error into the user-facing error with its exit code.

    The extended result code (`sqlite_errorname`, Python 3.11+) decides where it is precise: a
    write that hits a full disk or a file-size limit surfaces as SQLITE_IOERR_WRITE ("disk I/O
    error"), which is not an open failure; the message text is the fallback.
    """
    name = getattr(exc, "sqlite_errorname", None) or ""
    text = str(exc).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text:
        return DatabaseBusy(
            f"database {path} is busy (another crmcli is writing); try again later",
            hint="raise CRMCLI_BUSY_TIMEOUT (seconds) to wait longer",
        )
    if name == "SQLITE_READONLY_DIRECTORY" or (
        name.startswith("SQLITE_READONLY") and not os.access(path.parent, os.W_OK)
    ):
        return InputFileError(
            f"cannot use database {path}: its directory is read-only, and SQLite needs to"
            f" create {path.name}-wal and {path.name}-shm beside it"
        )
    if name.startswith("SQLITE_READONLY") or "readonly" in text or "read-only" in text:
        return InputFileError(f"cannot write to database {path}: it is read-only")
    if name == "SQLITE_FULL" or "full" in text:
        return DatabaseBusy(
            f"cannot write to database {path}: the disk is full",
            hint="free some space and run the command again; this command saved nothing",
        )
    if name.startswith("SQLITE_IOERR") and name not in (
        "SQLITE_IOERR_READ",
        "SQLITE_IOERR_SHORT_READ",
    ):
        return DatabaseBusy(
            f"cannot use database {path}: disk I/O error (is the disk full, or a file over a"
            " size limit?)",
            hint="free some space and run the command again; this command saved nothing",
        )
    if (
        name == "SQLITE_NOTADB"
        or name.startswith("SQLITE_CORRUPT")
        or "not a database" in text
        or "malformed" in text
        or "corrupt" in text
    ):
        return InputFileError(
            f"{path} is not a crmcli database or is damaged ({exc})",
            hint="restore a backup (`crmcli restore-backup`); the file was left as it is",
        )
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text or "disk i/o" in text:
        return InputFileError(f"cannot open database {path} ({exc})")
    return CrmError(f"database error in {path}: {exc}")


class Store:
    """An open crmcli database. Use `open_store`; close with `close()` or as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path, key_file: Path | None = None):
        self.conn = conn
        self.path = path
        self.key_file = key_file
        self._vault: Vault | None = None
        self.key_source: str | None = None
        self.new_recovery_code: str | None = None
        self.created = False
        self.command: str | None = None  # the crmcli subcommand, for the audit trail

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with BEGIN IMMEDIATE; rolled back on any error.

        Before it commits, a transaction of a command that opened the vault (it used the key)
        seals the contacts of every customer whose phones or emails changed since they were last
        sealed (`crmcli.store.sealed`), in the same transaction. A write without the key (`log`,
        `archive`, the stale report) never loads it: those customers are sealed by the next
        write that has it, and read from their rows until then.
        """
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate_error(exc, self.path) from None
        try:
            yield self.conn
            if self._vault is not None and self.conn.in_transaction:
                from crmcli.store import sealed

                sealed.seal_missing(self, self._vault)
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise translate_error(exc, self.path) from None

    @contextmanager
    def page_cache(self, mib: int) -> Iterator[None]:
        """Let SQLite cache up to `mib` MiB of pages while this block runs, then restore the
        connection's setting (the default is 2 MiB). For a bulk write whose random-order
        inserts into many indexes would otherwise evict and re-read the same pages; the memory
        is taken only as pages are touched, and released when the setting shrinks back."""
        before = self.scalar("PRAGMA cache_size")
        self.conn.execute(f"PRAGMA cache_size = {-int(mib) * 1024}")
        try:
            yield
        finally:
            self.conn.execute(f"PRAGMA cache_size = {int(before)}")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads (takes no write lock)."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise translate_error(exc, self.path) from None

    def scalar(self, sql: str, params: Any = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def schema_version(self) -> int:
        return int(self.scalar("PRAGMA user_version"))

    # -- meta and keys ------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        return self.scalar("SELECT value FROM meta WHERE key = ?", (key,))

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @property
    def db_id(self) -> str:
        value = self.meta("db_id")
        assert value is not None, "db_id is written when the database is created"
        return value

    def has_key(self) -> bool:
        return self.meta("key_check") is not None

    def vault(self, *, interactive: bool | None = None) -> Vault:
        """The contact-field crypto for this database, loading the key on first use.

        A database created before it had a key gets one here (that is `init`'s job, but a
        first `add` on a fresh file must work too). Raises NotConfigured / WrongKey.
        """
        if self._vault is not None:
            return self._vault
        from crmcli import credentials

        if not self.has_key():
            self.create_key()
            assert self._vault is not None
            return self._vault
        if interactive is None:
            import sys

            interactive = sys.stdin.isatty() and sys.stderr.isatty()
        info = credentials.resolve_key(self.db_id, key_file=self.key_file, interactive=interactive)
        vault = credentials.Vault(info.key)
        if vault.check_value() != self.meta("key_check"):
            raise WrongKey(
                f"the key from {info.source} does not open database {self.path}",
                hint="use `crmcli key import` with this database's recovery code",
            )
        self._vault = vault
        self.key_source = info.source
        return vault

    def create_key(self) -> str:
        """Make this database's key, store it (keyring or key file) and return the recovery code."""
        from crmcli import credentials

        # Under the write lock, so two first writers cannot make two keys.
        with self.write():
            if self.has_key():  # another process won the race: use its key
                self.vault()
                return ""
            try:
                # A key stored for this database whose key_check never committed (a crash
                # between the two): adopt it rather than strand it.
                info = credentials.resolve_key(self.db_id, key_file=self.key_file)
                key, where, fresh = info.key, info.source, False
            except NotConfigured:
                key = credentials.new_master_key()
                where = credentials.store_key(self.db_id, key, key_file=self.key_file)
                fresh = True
            vault = credentials.Vault(key)
            self.set_meta("key_check", vault.check_value())
        self._vault = vault
        self.key_source = where
        self.new_recovery_code = credentials.recovery_code(key) if fresh else None
        return self.new_recovery_code or ""


def _create_file(path: Path) -> None:
    """Create an empty database file readable by its owner only (0600, parents 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise InputFileError(f"cannot create database {path}: {exc.strerror}") from None
    os.close(fd)


def open_store(
    path: Path | None = None, *, create: bool = False, key_file: Path | None = None
) -> Store:
    """Open the database at `path` (default: CRMCLI_DB, else the per-user data directory).

    `create=False` refuses a missing file with NotConfigured (exit 78) instead of making an
    empty database somewhere the user did not expect. Opening always migrates.
    """
    path = (path or default_db_path()).expanduser()
    existed = path.exists()
    if not existed:
        if not create:
            raise NotConfigured(
                f"no database at {path}; run `crmcli init` first (or point --db / CRMCLI_DB at one)"
            )
        _create_file(path)
    elif path.is_dir():
        raise InputFileError(f"{path} is a directory, not a database file")
    old_umask = os.umask(0o077)  # the -wal and -shm files hold customer data too
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout(), isolation_level=None)
    except sqlite3.Error as exc:
        raise translate_error(exc, path) from None
    finally:
        os.umask(old_umask)
    conn.row_factory = sqlite3.Row
    store = Store(conn, path, key_file=key_file)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            conn.close()
            raise NotConfigured(
                f"database {path} was written by a newer crmcli (schema {version}; this one"
                f" knows {SCHEMA_VERSION}); upgrade crmcli to use it"
            )
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout() * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if version < SCHEMA_VERSION or conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            _upgrade(store)
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as exc:
        conn.close()
        raise translate_error(exc, path) from None
    store.created = not existed
    return store


def _upgrade(store: Store) -> None:
    """Switch to WAL and apply pending migrations, all under the write lock."""
    conn = store.conn
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":  # e.g. a read-only directory: WAL needs to create files beside the db
        raise InputFileError(f"cannot use database {store.path} in WAL mode (got {mode})")
    from sqlite_utils import Database

    from crmcli import migrations

    with store.write():
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise NotConfigured(f"database {store.path} was written by a newer crmcli")
        if version == SCHEMA_VERSION:
            return
        db = Database(conn)
        applied = (
            {
                row[0]
                for row in conn.execute(
                    "SELECT name FROM _sqlite_migrations WHERE migration_set = 'crmcli'"
                ).fetchall()
            }
            if db["_sqlite_migrations"].exists()
            else set()
        )
        unknown = applied - migrations.known_names()
        if unknown:
            raise NotConfigured(
                f"database {store.path} has migrations this crmcli does not know"
                f" ({', '.join(sorted(unknown))}); upgrade crmcli"
            )
        migrations.apply_all(db)
        if store.meta("db_id") is None:
            import uuid

            store.set_meta("db_id", uuid.uuid4().hex)
            store.set_meta("created_at", now_utc())
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
