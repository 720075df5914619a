"""The `crmcli` program: the entry point, the global options, and lazy command loading.

The commands live in `crmcli.commands.<module>`; importing a module registers its commands
on the shared app. A script that runs `crmcli search` a thousand times should not pay for
importing and building thirty commands it does not use (~40-90 ms measured), so `main()`
imports only the module that owns the command named on the command line; `--help`, an
unknown name or no name loads them all. `--version` answers before Typer is imported.

Adding a command: register it in its module and add its name to `COMMANDS` below
(tests/test_cli_registry.py fails when the two disagree).
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

# command name -> module in crmcli.commands; the module order is the order of `--help`.
COMMANDS: dict[str, str] = {
    "init": "setup",
    "doctor": "setup",
    "add": "customers",
    "edit": "customers",
    "show": "customers",
    "archive": "customers",
    "restore": "customers",
    "delete": "customers",
    "search": "listing",
    "followups": "listing",
    "log": "interactions",
    "log-interaction": "interactions",
    "import": "sheets_io",
    "export": "sheets_io",
    "dedupe": "dedupe",
    "merge": "dedupe",
    "unmerge": "dedupe",
    "merges": "dedupe",
    "clean": "dedupe",
    "stale": "reports",
    "stats": "reports",
    "history": "history",
    "backup": "maintenance",
    "restore-backup": "maintenance",
    "key": "keys",
}


def _available(module: str) -> bool:
    return importlib.util.find_spec(f"crmcli.commands.{module}") is not None


def load(modules: list[str] | None = None) -> typer.Typer:
    """Import command modules (all by default), attach the root options, return the app."""
    from crmcli import commands

    wanted = modules if modules is not None else list(dict.fromkeys(COMMANDS.values()))
    for module in wanted:
        if _available(module):
            importlib.import_module(f"crmcli.commands.{module}")
    return commands.app


def _modules_for(argv: list[str]) -> list[str] | None:
    """The one module the command line needs, or None for all of them."""
    if any(arg in ("-h", "--help") for arg in argv[:1]):
        return None
    name = next((arg for arg in argv if not arg.startswith("-")), None)
    module = COMMANDS.get(name or "")
    return [module] if module else None


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] in (["--version"], ["-V"]):
        from crmcli import __version__

        print(f"crmcli {__version__}")
        return
    load(_modules_for(argv))()


def __getattr__(name: str) -> Any:
    # `from crmcli.cli import app` (tests, embedding) gets the app with every command.
    if name == "app":
        return load()
    raise AttributeError(name)
