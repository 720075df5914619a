"""The lazy command registry in crmcli/cli.py matches what the modules register."""

from __future__ import annotations

import re
import subprocess
import sys

from typer.testing import CliRunner

from crmcli import cli


def registered_names() -> set[str]:
    app = cli.load()
    names = {c.name or c.callback.__name__ for c in app.registered_commands}  # type: ignore[union-attr]
    names |= {g.name for g in app.registered_groups if g.name}
    return names


def test_every_registered_command_is_in_the_registry() -> None:
    assert registered_names() == {
        name for name, module in cli.COMMANDS.items() if cli._available(module)
    }


def test_every_command_has_working_help() -> None:
    runner = CliRunner()
    app = cli.load()
    for name in sorted(registered_names()):
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        # Square brackets in help texts are eaten as Rich markup: none may be left dangling.
        assert not re.search(r"\w \.(\s|│|$)", result.output), (name, result.output)


def test_a_command_runs_with_only_its_module_loaded() -> None:
    code = (
        "import sys; sys.argv = ['crmcli', 'search', '--help'];from crmcli import cli; cli.main()"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code + "\nimport sys; print(sorted(m for m in sys.modules"
            " if m.startswith('crmcli.commands.')), file=sys.stderr)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_version_needs_no_typer() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv=['crmcli','--version'];"
            "from crmcli import cli; cli.main(); print('typer' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.splitlines() == [f"crmcli {__import__('crmcli').__version__}", "False"]
