"""Running crmcli in-process for the CLI tests: exit code, stdout and stderr kept apart."""

from __future__ import annotations

from typer.testing import CliRunner

from crmcli.cli import app

runner = CliRunner()


def crm(*args: str, input: str | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); an unexpected exception is re-raised, not hidden."""
    result = runner.invoke(app, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> str:
    """stdout of a command that must succeed."""
    code, out, err = crm(*args)
    assert code == 0, err
    return out
