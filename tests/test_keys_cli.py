"""The contact-encryption key at the command line: where it lives, `key export` / `key import`,
a wrong key (77), no key (78), and everything that must keep working without one.

The keyring cases run in-process against an in-memory backend; the prompt cases run crmcli in a
real pseudo-terminal, because a prompt is only ever offered on one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import keyring
import keyring.core
import pytest
from cli_helpers import on_terminal
from keyring.backend import KeyringBackend
from keyring.backends import null
from typer.testing import CliRunner

from crmcli import credentials
from crmcli.cli import app
from crmcli.errors import ExitCode

runner = CliRunner()
PHONE = "13812345678"
EMAIL = "secret.box@example.com"


def crm(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str, input: str | None = None) -> tuple[str, str]:
    code, out, err = crm(*args, input=input)
    assert code == 0, err
    return out, err


class MemoryKeyring(KeyringBackend):
    priority: float = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


class BrokenKeyring(MemoryKeyring):
    """SecretService without D-Bus: every call raises."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("No D-Bus session")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("No D-Bus session")


class PlaintextFileKeyring(MemoryKeyring):
    """Stands for keyrings.alt's plain-file backend, which must never be used silently."""


PlaintextFileKeyring.__module__ = "keyrings.alt.file"
# keyring registers every backend class process-wide; test doubles must not leak through it.
for _cls in (MemoryKeyring, BrokenKeyring, PlaintextFileKeyring):
    KeyringBackend._classes.discard(_cls)


@pytest.fixture(autouse=True)
def null_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(keyring.core, "_keyring_backend", null.Keyring())
    yield


@pytest.fixture
def config(isolated: Path) -> Path:
    return isolated.parent / "config"


def key_files(config: Path) -> list[Path]:
    return sorted((config / "keys").glob("*.key"))


def populated() -> str:
    """A database with one customer holding a phone and an email; returns its recovery code."""
    _, err = ok("init")
    code = next(line.strip() for line in err.splitlines() if line.startswith("    "))
    ok("add", "张伟", "-p", PHONE, "-e", EMAIL, "--company", "Acme")
    return code


def other_key_file(tmp_path: Path) -> Path:
    path = tmp_path / "other.key"
    credentials.write_key_file(path, "other", credentials.new_master_key())
    return path


def audit(db: Path) -> list[dict]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY id")]


# --------------------------------------------------------------------------- where the key lives


def test_init_without_keyring_writes_a_private_key_file_and_says_so(config: Path) -> None:
    _, err = ok("init")
    (path,) = key_files(config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert str(path) in err and "no usable OS keyring" in err
    assert "Recovery code" in err


def test_init_with_a_keyring_stores_the_key_there_and_no_file(config: Path) -> None:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    _, err = ok("init")
    assert "OS keyring" in err and key_files(config) == []
    (stored,) = backend.entries.values()
    ok("add", "Ann", "-p", PHONE)
    shown = json.loads(ok("show", "1", "--reveal", "-f", "json")[0])
    assert shown["phones"] == ["+8613812345678"]
    # doctor names the keyring, never the key
    facts = json.loads(ok("doctor", "-f", "json")[0])
    assert "OS keyring" in facts["key_source"] and stored not in json.dumps(facts)


@pytest.mark.parametrize("backend_class", [BrokenKeyring, PlaintextFileKeyring])
def test_unusable_keyrings_fall_back_to_a_key_file(
    backend_class: type[MemoryKeyring], config: Path
) -> None:
    backend = backend_class()
    keyring.set_keyring(backend)
    _, err = ok("init")
    assert len(key_files(config)) == 1 and "key file" in err
    assert backend.entries == {}  # a plain-file "keyring" got nothing
    ok("add", "Ann", "-p", PHONE)
    assert ok("show", "1", "--reveal")[0].count("+8613812345678") == 1


def test_key_file_readable_by_others_is_refused(tmp_path: Path, config: Path) -> None:
    populated()
    (path,) = key_files(config)
    path.chmod(0o644)
    code, out, err = crm("show", "1", "--reveal")
    assert code == ExitCode.NOT_CONFIGURED and out == ""
    assert "readable by others" in err and "chmod 600" in err
    path.chmod(0o600)
    ok("show", "1", "--reveal")


# --------------------------------------------------------------------------- no key, wrong key


@pytest.mark.parametrize("how", ["deleted", "env-points-nowhere"])
def test_without_any_key_listings_work_and_reveal_is_78_naming_the_variable(
    how: str, tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    populated()
    ok("log", "1", "called")
    if how == "deleted":
        for path in key_files(config):
            path.unlink()
    else:
        monkeypatch.setenv("CRMCLI_KEY_FILE", str(tmp_path / "nowhere.key"))
    # Everything that reads masked copies needs no key at all.
    rows = json.loads(ok("search", "-f", "json")[0])
    assert rows[0]["phones"] == ["138****5678"] and rows[0]["emails"] == ["s***@example.com"]
    assert [r["name"] for r in json.loads(ok("search", "5678", "-f", "json")[0])] == ["张伟"]
    assert [r["name"] for r in json.loads(ok("search", "Acme", "-f", "json")[0])] == ["张伟"]
    shown = json.loads(ok("show", "1", "-f", "json")[0])
    assert shown["phones"] == ["138****5678"] and shown["interactions"]
    ok("followups")
    ok("edit", "1", "--status", "customer")  # no contact change: no key needed
    ok("log", "1", "again")
    ok("history", "1")
    # Anything that needs the plaintext or a keyed hash says what to set.
    for args in (("show", "1", "--reveal"), ("search", "--reveal"), ("key", "export")):
        code, out, err = crm(*args)
        assert code == ExitCode.NOT_CONFIGURED, args
        assert out == "" and err.startswith("Error: ") and "CRMCLI_KEY_FILE" in err
        assert "Traceback" not in err
    code, _, err = crm("add", "Bob", "-p", "13900001111")
    assert code == ExitCode.NOT_CONFIGURED and "CRMCLI_KEY_FILE" in err
    assert json.loads(ok("search", "Bob", "-f", "json")[0]) == []


def test_wrong_key_is_77_everywhere_and_changes_nothing(tmp_path: Path, isolated: Path) -> None:
    populated()
    before = audit(isolated)
    wrong = str(other_key_file(tmp_path))
    for args in (
        ("show", "1", "--reveal"),
        ("search", "--reveal"),
        ("key", "export"),
        ("add", "Bob", "-p", "13900001111"),
        ("edit", "1", "-e", "new@example.com"),
        ("edit", "1", "--remove-phone", PHONE),
    ):
        code, out, err = crm(*args, "--key-file", wrong)
        assert code == ExitCode.WRONG_KEY, (args, err)
        assert out == "" and err.startswith("Error: ") and "does not open" in err
    assert audit(isolated) == before
    assert len(json.loads(ok("search", "-f", "json")[0])) == 1


def test_env_key_file_is_used_and_must_be_right(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    recovery = populated()
    path = tmp_path / "env.key"
    path.write_text(recovery + "\n")
    path.chmod(0o600)
    monkeypatch.setenv("CRMCLI_KEY_FILE", str(path))
    assert "+8613812345678" in ok("show", "1", "--reveal")[0]
    monkeypatch.setenv("CRMCLI_KEY_FILE", str(other_key_file(tmp_path)))
    assert crm("show", "1", "--reveal")[0] == ExitCode.WRONG_KEY


# --------------------------------------------------------------------------- key export


def test_export_prints_the_code_warns_and_is_audited(isolated: Path) -> None:
    recovery = populated()
    out, err = ok("key", "export")
    assert out.strip() == recovery
    assert "Warning:" in err and "keep it private" in err and recovery not in err
    entry = audit(isolated)[-1]
    assert (entry["action"], entry["command"]) == ("key export", "key export")
    assert recovery not in json.dumps(audit(isolated))
    assert credentials.parse_recovery_code(out) == credentials.parse_recovery_code(recovery)


def test_export_to_a_file_is_private_usable_and_never_replaced_silently(
    tmp_path: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recovery = populated()
    target = tmp_path / "sub" / "backup.key"
    out, err = ok("key", "export", "--output", str(target))
    assert out == "" and str(target) in err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert recovery in target.read_text()
    assert str(target) in audit(isolated)[-1]["details"]
    # the file is a key file: CRMCLI_KEY_FILE can point at it
    monkeypatch.setenv("CRMCLI_KEY_FILE", str(target))
    assert "+8613812345678" in ok("show", "1", "--reveal")[0]
    # an existing file is replaced only with --yes (no terminal here)
    code, _, err = crm("key", "export", "-o", str(target))
    assert code == ExitCode.USAGE and "--yes" in err
    ok("key", "export", "-o", str(target), "--yes")


def test_export_into_an_unwritable_place_is_one_line_and_not_audited(
    tmp_path: Path, isolated: Path
) -> None:
    populated()
    before = audit(isolated)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = crm("key", "export", "-o", str(blocker / "key"))
    assert code == ExitCode.NO_INPUT and err.startswith("Error: cannot write")
    assert len(err.strip().splitlines()) == 1 and out == ""
    assert audit(isolated) == before


def test_export_before_any_key_exists_is_78(isolated: Path) -> None:
    ok("add", "No Contacts")
    code, out, err = crm("key", "export")
    assert code == ExitCode.NOT_CONFIGURED and out == "" and "no key yet" in err


# --------------------------------------------------------------------------- key import


def test_import_restores_a_lost_key_from_argument_stdin_or_key_file(
    tmp_path: Path, isolated: Path, config: Path
) -> None:
    recovery = populated()
    for source in ("argument", "stdin", "key-file-content"):
        for path in key_files(config):
            path.unlink()
        assert crm("show", "1", "--reveal")[0] == ExitCode.NOT_CONFIGURED
        if source == "argument":
            _, err = ok("key", "import", recovery.lower().replace("-", " "))
        elif source == "stdin":
            _, err = ok("key", "import", input=recovery + "\n")
        else:
            content = f"# a comment\n\n{recovery}\n"
            _, err = ok("key", "import", input=content)
        assert "stored in key file" in err
        (path,) = key_files(config)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "+8613812345678" in ok("show", "1", "--reveal")[0]
    actions = [e["action"] for e in audit(isolated)]
    assert actions.count("key import") == 3
    assert recovery not in json.dumps(audit(isolated))


def test_import_into_a_keyring(isolated: Path, config: Path) -> None:
    recovery = populated()
    for path in key_files(config):
        path.unlink()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    _, err = ok("key", "import", recovery)
    assert "OS keyring" in err and key_files(config) == []
    assert list(backend.entries.values()) == [recovery]
    ok("show", "1", "--reveal")


def test_import_to_an_explicit_key_file(tmp_path: Path) -> None:
    recovery = populated()
    target = tmp_path / "keys" / "mine.key"
    _, err = ok("key", "import", recovery, "--key-file", str(target))
    assert str(target) in err and "--key-file or CRMCLI_KEY_FILE" in err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "+8613812345678" in ok("show", "1", "--reveal", "--key-file", str(target))[0]


def test_import_replaces_a_wrong_stored_key(config: Path) -> None:
    recovery = populated()
    (path,) = key_files(config)
    credentials.write_key_file(path, "x", credentials.new_master_key())
    assert crm("show", "1", "--reveal")[0] == ExitCode.WRONG_KEY
    ok("key", "import", recovery)
    ok("show", "1", "--reveal")


def test_import_of_another_databases_key_is_77_and_stores_nothing(
    isolated: Path, config: Path
) -> None:
    populated()
    (path,) = key_files(config)
    original = path.read_bytes()
    before = audit(isolated)
    stranger = credentials.recovery_code(credentials.new_master_key())
    code, out, err = crm("key", "import", stranger)
    assert code == ExitCode.WRONG_KEY and out == ""
    assert "nothing was stored" in err and stranger not in err
    assert path.read_bytes() == original and audit(isolated) == before


@pytest.mark.parametrize(
    "text",
    ["", "ABCD-EFGH", "A" * 56, "# only a comment\n", "not a code at all 11010519491231002X"],
)
def test_import_of_a_malformed_code_is_65_and_never_echoed(text: str, config: Path) -> None:
    populated()
    (path,) = key_files(config)
    original = path.read_bytes()
    code, out, err = crm("key", "import", input=text)
    assert code == ExitCode.DATA_ERR and out == "" and err.startswith("Error: ")
    for chunk in text.split():
        if len(chunk) > 4:
            assert chunk not in err
    assert path.read_bytes() == original


def test_import_into_a_database_without_a_key_is_78() -> None:
    ok("add", "No Contacts")
    code, _, err = crm("key", "import", credentials.recovery_code(credentials.new_master_key()))
    assert code == ExitCode.NOT_CONFIGURED and "no key yet" in err


def test_import_without_a_database_is_78(isolated: Path) -> None:
    code, _, err = crm("key", "import", "x")
    assert code == ExitCode.NOT_CONFIGURED and "crmcli init" in err
    assert not isolated.exists()


# --------------------------------------------------------------------------- on a terminal


def _in_a_terminal(args: list[str], answers: list[str]) -> tuple[int, str]:
    return on_terminal(args, answers, prompt=b"Recovery code", enter=b"\n", timeout=30)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a POSIX pseudo-terminal")
def test_on_a_terminal_a_missing_key_is_asked_for_and_a_typo_can_be_retried(
    config: Path,
) -> None:
    recovery = populated()
    for path in key_files(config):
        path.unlink()
    code, screen = _in_a_terminal(["show", "1", "--reveal"], [recovery])
    assert code == 0, screen
    assert "Recovery code" in screen and "+8613812345678" in screen
    assert recovery not in screen  # getpass does not echo
    typo = recovery[:-1] + ("A" if recovery[-1] != "A" else "B")
    code, screen = _in_a_terminal(["key", "import"], [typo, recovery])
    assert code == 0, screen
    assert "Try again" in screen and "stored in key file" in screen
    assert recovery not in screen and typo not in screen
    assert len(key_files(config)) == 1
