"""The `crmcli` program: the Typer app, its global options, and the entry point.

The commands live in `crmcli.commands.*`; importing them registers them on the app. Keep
this module's imports light: every invocation pays for them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli import __version__
from crmcli.commands import app, customers, interactions, listing, setup  # noqa: F401


def _version(value: bool) -> None:
    if value:
        print(f"crmcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """A customer-relationship manager for one salesperson, over one local SQLite file."""


def main() -> None:
    app()
