"""`crmcli key export` / `crmcli key import`: move the contact-encryption key (recovery)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from crmcli import render
from crmcli.commands import app
from crmcli.commands.shared import (
    DbOption,
    KeyFileOption,
    YesOption,
    confirm,
    handle_errors,
    open_db,
)

key_app = typer.Typer(
    name="key",
    help="Move the contact-encryption key: export its recovery code, or import one.",
    no_args_is_help=True,
)
app.add_typer(key_app, name="key")

_PROMPT_ATTEMPTS = 3


def _terminal() -> bool:
    """Prompts need a person at both ends (a seam for tests)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


@key_app.command("export")
@handle_errors
def export(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the code to this file (mode 600; usable as a key file) instead of stdout.",
            show_default=False,
        ),
    ] = None,
    yes: YesOption = False,
    db: DbOption = None,
    key_file: KeyFileOption = None,
) -> None:
    """Print this database's recovery code (loads and checks the key first; audited)."""
    from crmcli.operations import keys

    replacing = output is not None and output.expanduser().exists()
    if replacing and not confirm(f"Replace {output}?", yes):
        render.message("Nothing written.")
        return
    with open_db(db, "key export", key_file=key_file) as store:
        exported = keys.export_key(store, output=output, interactive=_terminal())
        path = store.path
    if exported.written_to is not None:
        render.message(
            f"Wrote the recovery code of {path} to {exported.written_to} (mode 600)."
            f" `crmcli key import < {exported.written_to}` restores it, or point"
            " CRMCLI_KEY_FILE at the file."
        )
    else:
        print(exported.code)
        if not sys.stdout.isatty():
            render.message("(To keep it in a file, prefer --output FILE: it creates the file 600.)")
    render.warn(
        f"this code opens every phone and email in {path}; keep it private"
        " (a password manager, or a file only you can read)."
    )


@key_app.command("import")
@handle_errors
def import_(
    code: Annotated[
        str | None,
        typer.Argument(
            help="The recovery code. Omit it to type it at a prompt, or pipe it (or a key file)"
            " in on stdin.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    key_file: KeyFileOption = None,
) -> None:
    """Check a recovery code against this database and store it (OS keyring, else a key file)."""
    from crmcli.operations import keys

    with open_db(db, "key import", key_file=key_file) as store:
        # Checked before any prompt: nobody should type a code for a database that has no key.
        keys.require_key_check(store)
        key = _read_key(code)
        imported = keys.import_key(store, key, key_file=key_file)
    render.message(f"Key checked against {store.path} and stored in {imported.stored_in}.")
    if key_file is not None:
        render.message("Commands find it through --key-file or CRMCLI_KEY_FILE.")
    if imported.found_first is not None:
        render.warn(
            f"crmcli reads a key from {imported.found_first} first, and that is not this one;"
            " remove it, or pass --key-file"
        )


def _read_key(code: str | None) -> bytes:
    """The key from the argument, a getpass prompt (terminal) or stdin (piped)."""
    from crmcli.operations import keys

    if code is not None:
        return keys.code_from_text(code)
    if not _terminal():
        return keys.code_from_text(sys.stdin.read())
    import getpass

    from crmcli.errors import InvalidInput

    for attempt in range(1, _PROMPT_ATTEMPTS + 1):
        try:
            typed = getpass.getpass("Recovery code: ")
        except EOFError:
            break
        try:
            return keys.code_from_text(typed)
        except InvalidInput as exc:
            if attempt == _PROMPT_ATTEMPTS:
                raise
            render.warn(f"{exc.message}. Try again.")
    raise InvalidInput("no recovery code was typed")
