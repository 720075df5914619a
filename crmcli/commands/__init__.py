"""The Typer commands, one module per area; each function parses options and makes one call
into `crmcli.operations`, then hands the result to `crmcli.render`.

Modules import only Typer and light modules at the top; the store, pydantic, openpyxl and
the matchers are imported inside the commands that use them, so `crmcli --version` and
`crmcli search` do not pay for what they do not use.
"""

from typing import Annotated

import typer

from crmcli import __version__

app = typer.Typer(
    name="crmcli",
    help=(
        "A customer-relationship manager for one salesperson, at the terminal, over one local"
        " SQLite file.\n\nExit codes: 0 ok, 1 unexpected error, 2 usage error, 3 not found or"
        " ambiguous, 4 report not empty (--fail-if-any), 65 bad input data, 66 input file"
        " missing or unreadable, 75 database busy, 77 wrong key, 78 not configured."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        print(f"crmcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    pass
