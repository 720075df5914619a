"""Setting up and checking: `init` and `doctor`."""

from __future__ import annotations

import os

from crmcli import __version__, render
from crmcli.commands import app
from crmcli.commands.shared import DbOption, FormatOption, KeyFileOption, handle_errors, open_db
from crmcli.render import Format


@app.command()
@handle_errors
def init(db: DbOption = None, key_file: KeyFileOption = None) -> None:
    """Create the database and its contact-encryption key (safe to run again)."""
    with open_db(db, "init", create=True, key_file=key_file) as store:
        if store.has_key():
            store.vault()  # proves the key is reachable and right (exit 77/78 otherwise)
            render.message(f"Database ready at {store.path} (key: {store.key_source}).")
            return
        code = store.create_key()
        render.message(f"Created database {store.path}.")
        if code:
            render.key_created(store.key_source or "", code)


@app.command()
@handle_errors
def doctor(
    db: DbOption = None, key_file: KeyFileOption = None, fmt: FormatOption = Format.table
) -> None:
    """Which database, schema version and key source are in use (never the key itself)."""
    from crmcli import credentials
    from crmcli.migrations import SCHEMA_VERSION
    from crmcli.store import busy_timeout, default_db_path

    path = (db or default_db_path()).expanduser()
    facts: dict[str, object] = {
        "crmcli": __version__,
        "database": str(path),
        "database_exists": path.exists(),
        "schema_version": None,
        "program_schema_version": SCHEMA_VERSION,
        "customers": None,
        "key_source": None,
        "region": os.environ.get("CRMCLI_REGION", "CN"),
        "busy_timeout_s": busy_timeout(),
        "config_dir": str(credentials.config_dir()),
    }
    if path.exists():
        with open_db(path, "doctor", key_file=key_file) as store:
            from crmcli.store import customers as customers_db

            facts["schema_version"] = store.schema_version()
            facts["customers"] = customers_db.count_live(store)
            facts["key_source"] = (
                credentials.key_source_hint(store.db_id, key_file=key_file)
                if store.has_key()
                else "no key yet (created by `crmcli init` or the first add)"
            )
    if fmt is Format.table:
        width = max(len(k) for k in facts)
        for key, value in facts.items():
            print(f"{key.ljust(width)}  {'' if value is None else value}")
    else:
        render.data(facts)
