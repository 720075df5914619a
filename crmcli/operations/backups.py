"""Safe copies of the database as use cases: `backup` to a path, and `restore_backup`, which
checks the file and keeps the current content as an automatic backup before swapping it in.
The mechanics (SQLite's backup API, checks, rotation) live in `crmcli/store/backup.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crmcli.store import Store
    from crmcli.store.backup import BackupInfo


def backup(store: Store, path: Path | None, *, overwrite: bool = False) -> BackupInfo:
    """A checked copy of the database at `path` (a file, or a directory to put it in)."""
    from crmcli.errors import UsageError
    from crmcli.store import backup as backup_db

    target = backup_db.default_backup_path(store) if path is None else Path(path).expanduser()
    if path is not None and target.is_dir():
        target = target / backup_db.default_backup_path(store).name
    if target.resolve() == store.path.resolve():
        raise UsageError(f"{target} is the database itself; choose another backup path")
    if target.exists() and not overwrite:
        raise UsageError(f"{target} already exists; pass --force to replace it")
    return backup_db.backup_to(store, target)


@dataclass
class Restored:
    restored: BackupInfo
    previous_saved_to: Path


def check_backup(
    path: Path, store: Store | None = None, *, other_database: bool = False
) -> BackupInfo:
    """Check a backup file (and, given the live store, that it may be restored into it)."""
    from crmcli.store import backup as backup_db

    info = backup_db.check_file(Path(path).expanduser())
    if store is not None:
        backup_db.check_restorable(store, info, allow_other_database=other_database)
    return info


def restore_backup(
    store: Store, path: Path, *, other_database: bool = False, checked: BackupInfo | None = None
) -> Restored:
    """Swap the backup at `path` into the live database, keeping the current content as an
    automatic backup first (that is how a wrong restore is undone).

    `checked` is `check_backup(path)` when the caller already ran it (it reads the whole file).
    """
    from crmcli.store import backup as backup_db
    from crmcli.store import journal, open_store

    info = checked or backup_db.check_file(Path(path).expanduser())
    backup_db.check_restorable(store, info, allow_other_database=other_database)
    saved = backup_db.auto_backup(store, "before-restore")
    backup_db.restore_into(store, info)
    open_store(store.path).close()  # a backup from an older crmcli: migrate it now
    with store.write():
        journal.record(
            store,
            "restore-backup",
            details={"from": str(info.path.resolve()), "previous_saved_to": str(saved)},
        )
    return Restored(info, saved)
