"""What every command shares: the common options, opening the database, confirmation without
a terminal, and turning errors into one `Error: …` line with the documented exit code."""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from crmcli import render
from crmcli.errors import Ambiguous, CrmError, ExitCode, InvalidInput, NeedsConfirmation
from crmcli.render import Format

if TYPE_CHECKING:
    from crmcli.store import Store

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        envvar="CRMCLI_DB",
        help="Database file (default: the per-user data directory).",
        show_default=False,
    ),
]
KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        envvar="CRMCLI_KEY_FILE",
        help="Key file for contact details (default: OS keyring, else the config dir).",
        show_default=False,
    ),
]
FormatOption = Annotated[
    Format,
    typer.Option("--format", "-f", help="table for people; json, jsonl, csv, tsv for programs."),
]
RevealOption = Annotated[
    bool,
    typer.Option("--reveal", help="Show full phones and emails (needs the key; audited)."),
]
YesOption = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Answer yes to the confirmation (needed without a terminal)."),
]

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Expected failures become `Error: …` on stderr and their exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            _refuse_undecodable(kwargs)
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except Ambiguous as exc:
            render.error(exc.message)
            for c in exc.candidates:
                parts = [f"#{c['id']}", c["name"], c.get("company"), *(c.get("phones") or [])[:1]]
                render.message("  " + "  ".join(p for p in parts if p))
            raise typer.Exit(int(exc.exit_code)) from None
        except CrmError as exc:
            render.error(exc.message, exc.hint)
            raise typer.Exit(int(exc.exit_code)) from None
        except sqlite3.Error as exc:
            from crmcli.store import default_db_path, translate_error

            err = translate_error(exc, Path(kwargs.get("db") or default_db_path()))
            render.error(err.message, err.hint)
            raise typer.Exit(int(err.exit_code)) from None
        except KeyboardInterrupt:
            render.error("interrupted; nothing was changed by the unfinished step")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # `crmcli search … | head`: the reader left; not an error worth a message.
            sys.stderr.close()
            raise typer.Exit(0) from None
        except Exception as exc:
            if os.environ.get("CRMCLI_DEBUG"):
                raise
            render.error(
                f"unexpected {type(exc).__name__}: {exc}",
                "this is a bug; set CRMCLI_DEBUG=1 to see the traceback",
            )
            raise typer.Exit(int(ExitCode.UNEXPECTED)) from None

    return wrapper  # type: ignore[return-value]


def _refuse_undecodable(options: dict[str, Any]) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape); neither SQLite
    nor stdout can encode them, so refuse them up front (exit 65) and name the argument."""
    for name, value in options.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise InvalidInput(
                        f"{name.rstrip('_')}: not valid UTF-8 text (check the terminal's encoding)"
                    ) from None


def open_db(
    db: Path | None, command: str, *, create: bool = False, key_file: Path | None = None
) -> Store:
    from crmcli.store import open_store

    store = open_store(db, create=create, key_file=key_file)
    store.command = command
    return store


def confirm(question: str, yes: bool) -> bool:
    """Ask on a terminal; without one, refuse (exit 2) and name the flag that answers."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise NeedsConfirmation(
            f"this needs confirmation ({question}) and there is no terminal: pass --yes"
        )
    return typer.confirm(question, default=False)


def split_values(values: list[str] | None) -> list[str]:
    """Repeatable options also accept comma-separated lists (`--tag a,b --tag c`)."""
    out: list[str] = []
    for value in values or []:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out
