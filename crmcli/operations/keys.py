"""Moving a database's contact-encryption key: export its recovery code, import one.

`export_key` loads the key the way every command does (key file, OS keyring, prompt) and proves
it against the database's check value before handing out its recovery code, so a code that
leaves this program always opens this database. `import_key` verifies a recovery code against
the check value *before* storing anything, then keeps it where `resolve_key` will find it.

Both are written to the audit trail; neither the code nor any key material ever is.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crmcli import credentials
from crmcli.errors import InputFileError, InvalidInput, NotConfigured, WrongKey
from crmcli.store import journal

if TYPE_CHECKING:
    from crmcli.store import Store


@dataclass(frozen=True)
class ExportedKey:
    code: str = field(repr=False)
    source: str  # where the key was loaded from (safe to print)
    written_to: Path | None


@dataclass(frozen=True)
class ImportedKey:
    stored_in: str  # where the key now lives (safe to print)
    found_first: str | None  # where crmcli will read a key first, when that is not this one


def require_key_check(store: Store) -> str:
    check = store.meta("key_check")
    if check is None:
        raise NotConfigured(
            f"database {store.path} has no key yet, so there is no key to move;"
            " `crmcli init` (or the first customer with a phone or email) creates one"
        )
    return check


def load_key(store: Store, *, interactive: bool) -> credentials.KeyInfo:
    """This database's key through the normal resolution, proven right (WrongKey otherwise)."""
    check = require_key_check(store)
    info = credentials.resolve_key(store.db_id, key_file=store.key_file, interactive=interactive)
    try:
        credentials.Vault(info.key).verify(check)
    except WrongKey:
        raise WrongKey(
            f"the key from {info.source} does not open database {store.path}",
            hint="use `crmcli key import` with this database's recovery code",
        ) from None
    return info


def export_key(store: Store, *, output: Path | None, interactive: bool) -> ExportedKey:
    """The recovery code of this database's key; with `output`, also written there as a key file
    (mode 600). The export is audited first, in the same transaction as the file is written, so
    a code never leaves without its audit entry."""
    info = load_key(store, interactive=interactive)
    # Absolute, so the audit entry still says where the code went when read elsewhere.
    target = output.expanduser().absolute() if output is not None else None
    created = False
    try:
        with store.write():
            journal.record(
                store,
                "key export",
                details={
                    "to": str(target) if target is not None else "stdout",
                    "key_source": info.source,
                },
            )
            if target is not None:
                created = not target.exists()
                credentials.write_key_file(target, store.db_id, info.key)
    except OSError as exc:
        raise InputFileError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        # The audit entry did not commit: take back a file this call created.
        if target is not None and created:
            target.unlink(missing_ok=True)
        raise
    return ExportedKey(credentials.recovery_code(info.key), info.source, target)


def code_from_text(text: str) -> bytes:
    """The key in text a user hands over: the recovery code alone, or a key file's content (the
    first line that is not blank or a `#` comment). InvalidInput never echoes the text."""
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return credentials.parse_recovery_code(line)
    raise InvalidInput("no recovery code was given")


def import_key(store: Store, key: bytes, *, key_file: Path | None = None) -> ImportedKey:
    """Store `key` for this database (OS keyring when usable, else the key file; `key_file` or
    $CRMCLI_KEY_FILE when given), after checking that it opens this database. A wrong key stores
    nothing (WrongKey)."""
    check = require_key_check(store)
    try:
        credentials.Vault(key).verify(check)
    except WrongKey:
        raise WrongKey(
            f"this recovery code is not the key of database {store.path}; nothing was stored",
            hint="every database has its own key: check --db / CRMCLI_DB",
        ) from None
    # Stored before the audit entry is written, outside the write lock: a keyring may take
    # seconds (an unlock dialog), and other crmcli processes must not wait on it.
    try:
        where = credentials.store_key(store.db_id, key, key_file=key_file, overwrite=True)
    except OSError as exc:
        place = f" {exc.filename}" if exc.filename else ""
        raise InputFileError(f"cannot store the key{place}: {exc.strerror or exc}") from None
    with store.write():
        journal.record(store, "key import", details={"stored_in": where})
    return ImportedKey(where, _found_first(store, key, key_file))


def _found_first(store: Store, key: bytes, key_file: Path | None) -> str | None:
    """Where crmcli would read a key first, when that is not the key just stored (e.g. a keyring
    that accepted nothing while an older entry still answers)."""
    try:
        info = credentials.resolve_key(store.db_id, key_file=key_file, interactive=False)
    except (NotConfigured, InvalidInput):
        return "nowhere"
    return None if hmac.compare_digest(info.key, key) else info.source
