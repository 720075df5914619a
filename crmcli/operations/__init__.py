"""Use cases: what a command does, in terms of the store, the models and the matcher.

One module per area (`customers`, `interactions`, `search`, …). Functions here take an
open `Store` and plain values, return plain data (dicts, dataclasses) and raise `CrmError`s;
they never print and never import Typer or Rich, so they are tested on a fresh database
without the CLI.
"""
