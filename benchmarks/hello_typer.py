"""The start-up floor: a minimal Typer app with two trivial commands and nothing else imported.

Configured like crmcli's app (no completion, no pretty exceptions), so
`python benchmarks/hello_typer.py hello` is the least any `crmcli` command can cost with the
installed Typer; `benchmarks/run_core.py` reports crmcli's figures next to this one.
"""

import typer

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True)


@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""
    typer.echo(f"hello {name}")


@app.command()
def goodbye(name: str = "world") -> None:
    """Say goodbye."""
    typer.echo(f"goodbye {name}")


if __name__ == "__main__":
    app()
