"""Safe copies of the database: `backup` and `restore-backup`.

`backup` prints the path it wrote on stdout (`path=$(crmcli backup)` in a script) and says
what it wrote on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crmcli import render
from crmcli.commands import app
from crmcli.commands.shared import DbOption, YesOption, confirm, handle_errors, open_db


def _size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


@app.command()
@handle_errors
def backup(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="File (or directory) to write (default: backups/ beside the database).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace PATH if it exists.")] = False,
    db: DbOption = None,
) -> None:
    """Write a consistent, checked copy of the database (safe while others are writing).

    Uses SQLite's backup API, writes under a temporary name, checks the copy, then renames it.
    """
    from crmcli.operations import backups

    with open_db(db, "backup") as store:
        info = backups.backup(store, path, overwrite=force)
        source = store.path
    render.message(
        f"Backed up {source} to {info.path}: {info.customers:,} customers,"
        f" {info.interactions:,} interactions, {_size(info.bytes)}."
    )
    print(info.path)


@app.command("restore-backup")
@handle_errors
def restore_backup(
    path: Annotated[Path, typer.Argument(help="The backup file to restore.", show_default=False)],
    yes: YesOption = False,
    other_database: Annotated[
        bool,
        typer.Option(
            "--other-database",
            help="Restore a backup of a different crmcli database (its contacts need its key).",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Replace the database's content with a backup (checked first; asks first).

    The current content is saved first as an automatic backup: restore that one to undo.

    Other crmcli processes wait while it swaps (busy timeout), then see the restored data.
    """
    from crmcli.operations import backups
    from crmcli.store import customers as customers_db

    with open_db(db, "restore-backup") as store:
        info = backups.check_backup(path, store, other_database=other_database)
        render.message(
            f"{info.path}: {info.customers:,} customers, {info.interactions:,} interactions,"
            f" schema {info.schema_version}, {_size(info.bytes)}; check ok."
        )
        now = customers_db.count_live(store)
        if not confirm(f"Replace {store.path} ({now:,} customers) with this backup?", yes):
            render.message("Nothing restored.")
            return
        done = backups.restore_backup(store, path, other_database=other_database, checked=info)
        target = store.path
    render.message(
        f"Restored {target} from {done.restored.path}."
        f" The previous content is saved as {done.previous_saved_to}."
    )
