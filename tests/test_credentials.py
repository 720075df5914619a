"""Keys (keyring, key file, recovery code) and the crypto of contact fields.

No test touches the user's keyring, config directory or terminal: PYTHON_KEYRING_BACKEND is the null
backend, CRMCLI_CONFIG_DIR a temp dir, and the keyring path runs against an in-memory backend.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.core
import pytest
from hypothesis import given
from hypothesis import strategies as st
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from crmcli import credentials
from crmcli.credentials import (
    KeyInfo,
    Vault,
    config_dir,
    default_key_file,
    key_source_hint,
    new_master_key,
    parse_recovery_code,
    read_key_file,
    recovery_code,
    resolve_key,
    store_key,
    usable_keyring,
)
from crmcli.errors import ExitCode, InvalidInput, NotConfigured, WrongKey

DB = "db-0123abcd"
POSIX = os.name != "nt"


class MemoryKeyring(KeyringBackend):
    """A keyring of priority 1 that keeps passwords in a dict and counts reads."""

    priority: float = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}
        self.reads = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.reads += 1
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


class BrokenKeyring(MemoryKeyring):
    """Like SecretService without D-Bus: every call raises."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("No D-Bus session")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("No D-Bus session")


class ForgetfulKeyring(MemoryKeyring):
    """Accepts a password and does not keep it."""

    def set_password(self, service: str, username: str, password: str) -> None:
        pass


class HangingKeyring(MemoryKeyring):
    """A locked keyring waiting for an unlock dialog nobody answers."""

    release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(5)
        return None


class LowPriorityKeyring(MemoryKeyring):
    priority = 0.5


class PlaintextLike(MemoryKeyring):
    """Stands for keyrings.alt.file.PlaintextKeyring (priority 0.5 there; 1 here to be sure)."""


PlaintextLike.__module__ = "keyrings.alt.file"


def _unregister(*classes: type) -> None:
    # keyring's metaclass adds every backend class to a process-wide registry that its chainer and
    # auto-detection instantiate: test doubles must not leak into other tests through it.
    for cls in classes:
        KeyringBackend._classes.discard(cls)


_unregister(MemoryKeyring, BrokenKeyring, ForgetfulKeyring, HangingKeyring, LowPriorityKeyring)
_unregister(PlaintextLike)


@pytest.fixture(autouse=True)
def no_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # Self-contained on purpose (conftest's `isolated` also runs): these tests are about exactly
    # these variables and keyring's process-wide backend.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("CRMCLI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("CRMCLI_KEY_FILE", raising=False)
    monkeypatch.setattr(keyring.core, "_keyring_backend", null.Keyring())
    yield tmp_path


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)  # undone by the monkeypatch of _keyring_backend above
    return backend


KEY = bytes(range(32))
CODE_SHAPE = re.compile(r"(?:[A-Z2-7]{4}-){13}[A-Z2-7]{4}")


# --------------------------------------------------------------------------- Vault


def test_encrypt_round_trip_and_random_nonce() -> None:
    vault = Vault(KEY)
    blob = vault.encrypt("+8613812345678", context="phone")
    assert vault.decrypt(blob, context="phone") == "+8613812345678"
    assert vault.encrypt("+8613812345678", context="phone") != blob  # fresh nonce each time
    assert len(blob) == 12 + len("+8613812345678") + 16
    assert b"13812345678" not in blob


@given(st.text(max_size=200), st.text(max_size=10))
def test_encrypt_round_trip_any_text(text: str, context: str) -> None:
    vault = Vault(KEY)
    assert vault.decrypt(vault.encrypt(text, context=context), context=context) == text


def test_wrong_key_context_or_tampering_raise_wrong_key() -> None:
    blob = Vault(KEY).encrypt("bob@example.com", context="email")
    other = Vault(new_master_key())
    with pytest.raises(WrongKey, match=r"^the key does not open this database's contact details$"):
        other.decrypt(blob, context="email")
    with pytest.raises(WrongKey) as info:
        Vault(KEY).decrypt(blob, context="phone")
    assert info.value.exit_code == ExitCode.WRONG_KEY == 77
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(WrongKey):
        Vault(KEY).decrypt(tampered, context="email")


def test_damaged_blob_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="damaged"):
        Vault(KEY).decrypt(b"short")


def test_blind_index() -> None:
    vault = Vault(KEY)
    digest = vault.blind("phone", "+8613812345678")
    assert re.fullmatch(r"[0-9a-f]{32}", digest)
    assert digest == Vault(KEY).blind("phone", "+8613812345678")  # deterministic: exact lookup
    assert digest != vault.blind("email", "+8613812345678")  # purposes kept apart
    assert digest != Vault(new_master_key()).blind("phone", "+8613812345678")  # keyed


def test_subkeys_follow_hkdf_sha256() -> None:
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    def hkdf(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(KEY)

    expected = hmac.new(hkdf(b"crmcli hash v1"), b"phone\x00+1", hashlib.sha256).digest()[:16]
    assert Vault(KEY).blind("phone", "+1") == expected.hex()

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    blob = Vault(KEY).encrypt("x", context="c")
    assert AESGCM(hkdf(b"crmcli enc v1")).decrypt(blob[:12], blob[12:], b"c") == b"x"


def test_check_value_tells_keys_apart() -> None:
    right = Vault(KEY)
    stored = right.check_value()
    assert re.fullmatch(r"[0-9a-f]{32}", stored)
    assert Vault(KEY).check_value() == stored
    right.verify(stored)
    with pytest.raises(WrongKey):
        Vault(new_master_key()).verify(stored)
    assert stored not in (right.blind("", ""), KEY.hex()[:32])


def test_vault_hides_its_keys_and_checks_length() -> None:
    assert repr(Vault(KEY)) == "Vault(<key hidden>)"
    with pytest.raises(ValueError):
        Vault(b"\x00" * 31)
    assert len(new_master_key()) == 32 and new_master_key() != new_master_key()


# --------------------------------------------------------------------------- recovery codes


def test_recovery_code_shape_and_round_trip() -> None:
    code = recovery_code(KEY)
    assert CODE_SHAPE.fullmatch(code)
    assert parse_recovery_code(code) == KEY


@given(st.binary(min_size=32, max_size=32))
def test_recovery_code_round_trips_every_key(key: bytes) -> None:
    code = recovery_code(key)
    assert CODE_SHAPE.fullmatch(code)
    assert parse_recovery_code(code) == key
    assert parse_recovery_code(code.lower().replace("-", " ")) == key
    assert parse_recovery_code(code.replace("-", "")) == key
    assert parse_recovery_code(f"  {code[:20]}\t{code[20:]}\n") == key


def test_recovery_code_reads_lookalike_digits() -> None:
    code = recovery_code(KEY)
    typed = code.replace("O", "0").replace("I", "1").replace("B", "8")
    assert parse_recovery_code(typed) == KEY


@given(st.binary(min_size=32, max_size=32), st.integers(0, 55), st.sampled_from("ACQZ27"))
def test_a_typo_is_caught_and_never_echoed(key: bytes, at: int, char: str) -> None:
    chars = recovery_code(key).replace("-", "")
    if chars[at] == char:
        return
    typo = chars[:at] + char + chars[at + 1 :]
    with pytest.raises(InvalidInput) as info:
        parse_recovery_code(typo)
    assert typo not in str(info.value) and chars[:8] not in str(info.value)


@pytest.mark.parametrize("text", ["", "ABCD-EFGH", recovery_code(KEY) + "-AAAA", "!" * 56])
def test_malformed_recovery_codes(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_recovery_code(text)


# --------------------------------------------------------------------------- paths


def test_config_dir_and_default_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_dir() == tmp_path / "config"
    assert default_key_file(DB) == tmp_path / "config" / "keys" / f"{DB}.key"
    monkeypatch.delenv("CRMCLI_CONFIG_DIR")
    import platformdirs

    assert config_dir() == Path(platformdirs.user_config_dir("crmcli"))


@pytest.mark.parametrize("bad", ["", "../etc/passwd", "a/b", "a..b", ".hidden", "x" * 200])
def test_db_ids_that_are_not_safe_file_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        default_key_file(bad)


# --------------------------------------------------------------------------- key files


def test_store_without_keyring_writes_a_private_key_file(tmp_path: Path) -> None:
    where = store_key(DB, KEY)
    path = default_key_file(DB)
    assert where.startswith(f"key file {path} (no usable OS keyring")
    assert "\n" not in where and recovery_code(KEY) not in where
    text = path.read_text()
    assert DB in text.splitlines()[0] and text.splitlines()[0].startswith("#")
    assert recovery_code(KEY) in text
    if POSIX:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    assert read_key_file(path) == KEY
    info = resolve_key(DB)
    assert info == KeyInfo(KEY, f"key file {path}")


def test_store_key_is_idempotent_and_never_replaces_another_key_silently() -> None:
    store_key(DB, KEY)
    store_key(DB, KEY)
    other = new_master_key()
    with pytest.raises(InvalidInput, match="does not hold this key") as info:
        store_key(DB, other)
    assert recovery_code(other) not in str(info.value)
    assert resolve_key(DB).key == KEY
    store_key(DB, other, overwrite=True)
    assert resolve_key(DB).key == other


def test_explicit_key_file_argument_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given_path = tmp_path / "given.key"
    assert store_key(DB, KEY, key_file=given_path) == f"key file {given_path} (given)"
    assert resolve_key(DB, key_file=given_path) == KeyInfo(KEY, f"key file {given_path} (given)")

    env_path = tmp_path / "env" / "db.key"
    monkeypatch.setenv("CRMCLI_KEY_FILE", str(env_path))
    assert store_key(DB, KEY) == f"key file {env_path} (CRMCLI_KEY_FILE)"
    assert resolve_key(DB).source == f"key file {env_path} (CRMCLI_KEY_FILE)"
    assert not default_key_file(DB).exists()


def test_explicit_key_file_that_is_missing_does_not_fall_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_key(DB, KEY)  # a default key file exists...
    missing = tmp_path / "nowhere.key"
    monkeypatch.setenv("CRMCLI_KEY_FILE", str(missing))
    with pytest.raises(NotConfigured, match=f"^key file {re.escape(str(missing))} does not exist"):
        resolve_key(DB)  # ...but an explicit one was asked for
    with pytest.raises(NotConfigured) as info:
        resolve_key(DB, key_file=tmp_path)  # a directory
    assert str(tmp_path) in str(info.value)
    assert info.value.exit_code == ExitCode.NOT_CONFIGURED == 78


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    store_key(DB, KEY)
    path = default_key_file(DB)
    path.chmod(0o644)
    with pytest.raises(NotConfigured, match=r"is readable by others; chmod 600 it$") as info:
        resolve_key(DB)
    assert recovery_code(KEY) not in str(info.value)
    assert "readable by others" in key_source_hint(DB)


@pytest.mark.parametrize("content", ["", "# only a comment\n", "not a key\n", "\xff\xfe"])
def test_key_file_without_a_key(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content.encode("latin-1"))
    path.chmod(0o600)
    with pytest.raises(NotConfigured, match=re.escape(str(path))):
        read_key_file(path)


def test_no_key_anywhere_is_not_configured() -> None:
    with pytest.raises(NotConfigured) as info:
        resolve_key(DB)
    message = str(info.value)
    assert message.startswith("no key for this database: set CRMCLI_KEY_FILE to its key file")
    assert "`crmcli key import`" in message and "\n" not in message


# --------------------------------------------------------------------------- the prompt


def test_interactive_prompt_reads_the_recovery_code(monkeypatch: pytest.MonkeyPatch) -> None:
    typed = iter(["not it", recovery_code(KEY).lower()])
    monkeypatch.setattr(credentials.getpass, "getpass", lambda prompt: next(typed))
    assert resolve_key(DB, interactive=True) == KeyInfo(KEY, "recovery code typed at the prompt")


def test_interactive_prompt_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials.getpass, "getpass", lambda prompt: "WRONG")
    with pytest.raises(InvalidInput):
        resolve_key(DB, interactive=True)

    def eof(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr(credentials.getpass, "getpass", eof)
    with pytest.raises(NotConfigured):
        resolve_key(DB, interactive=True)


def test_not_interactive_never_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(prompt: str) -> str:
        raise AssertionError("prompted")

    monkeypatch.setattr(credentials.getpass, "getpass", boom)
    with pytest.raises(NotConfigured):
        resolve_key(DB)


# --------------------------------------------------------------------------- the OS keyring


def test_keyring_stores_verifies_and_resolves(memory_keyring: MemoryKeyring) -> None:
    assert usable_keyring() is memory_keyring
    where = store_key(DB, KEY)
    assert where == f"OS keyring (MemoryKeyring), service 'crmcli', entry '{DB}'"
    assert memory_keyring.store[("crmcli", DB)] == recovery_code(KEY)
    assert not default_key_file(DB).exists()
    assert resolve_key(DB) == KeyInfo(KEY, "OS keyring (MemoryKeyring)")


def test_keyring_wins_over_default_key_file(memory_keyring: MemoryKeyring) -> None:
    default = default_key_file(DB)
    credentials._write_key_file(default, DB, new_master_key())
    memory_keyring.set_password("crmcli", DB, recovery_code(KEY))
    assert resolve_key(DB).key == KEY


def test_keyring_refuses_to_replace_a_different_key(memory_keyring: MemoryKeyring) -> None:
    store_key(DB, KEY)
    with pytest.raises(InvalidInput, match="different key"):
        store_key(DB, new_master_key())
    other = new_master_key()
    store_key(DB, other, overwrite=True)
    assert resolve_key(DB).key == other


def test_damaged_keyring_entry_falls_back(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("crmcli", DB, "garbage")
    with pytest.raises(NotConfigured, match="the OS keyring entry is not a crmcli key"):
        resolve_key(DB)
    credentials._write_key_file(default_key_file(DB), DB, KEY)
    assert resolve_key(DB).source == f"key file {default_key_file(DB)}"


@pytest.mark.parametrize("backend_class", [BrokenKeyring, ForgetfulKeyring])
def test_failing_keyring_falls_back_to_a_key_file(backend_class: type[MemoryKeyring]) -> None:
    keyring.set_keyring(backend_class())
    where = store_key(DB, KEY)
    assert where.startswith(f"key file {default_key_file(DB)} (the OS keyring (")
    assert resolve_key(DB) == KeyInfo(KEY, f"key file {default_key_file(DB)}")


def test_hanging_keyring_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "_KEYRING_TIMEOUT_S", 0.05)
    keyring.set_keyring(HangingKeyring())
    try:
        with pytest.raises(NotConfigured, match="the OS keyring failed"):
            resolve_key(DB)
    finally:
        HangingKeyring.release.set()


@pytest.mark.parametrize(
    "backend", [null.Keyring(), fail.Keyring(), LowPriorityKeyring(), PlaintextLike()]
)
def test_unusable_keyrings(backend: KeyringBackend) -> None:
    keyring.set_keyring(backend)
    assert usable_keyring() is None
    store_key(DB, KEY)
    assert default_key_file(DB).exists()  # never into a plaintext keyring


def test_keyring_whose_priority_raises_is_unusable() -> None:
    class Exploding(MemoryKeyring):
        @property
        def priority(self) -> float:  # type: ignore[override]
            raise RuntimeError("SecretService without D-Bus")

    _unregister(Exploding)
    keyring.set_keyring(Exploding())
    assert usable_keyring() is None


@pytest.mark.parametrize("with_mine", [True, False])
def test_chainer_gives_its_best_acceptable_member(with_mine: bool) -> None:
    mine = MemoryKeyring()

    class Chain(chainer.ChainerBackend):
        backends = (PlaintextLike(), mine) if with_mine else (PlaintextLike(),)

    _unregister(Chain)
    keyring.set_keyring(Chain())
    assert usable_keyring() is (mine if with_mine else None)


def test_empty_chainer_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    class Empty(chainer.ChainerBackend):
        backends = ()

    _unregister(Empty)
    keyring.set_keyring(Empty())
    assert usable_keyring() is None


def test_python_keyring_backend_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # as in a fresh process
    assert usable_keyring() is None
    assert isinstance(keyring.get_keyring(), null.Keyring)


# --------------------------------------------------------------------------- doctor hint


def test_key_source_hint(
    tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(null.Keyring())
    assert key_source_hint(DB) == "none found"
    store_key(DB, KEY)
    assert key_source_hint(DB) == f"key file {default_key_file(DB)}"

    keyring.set_keyring(memory_keyring)
    hint = key_source_hint(DB)
    assert hint.startswith("OS keyring (MemoryKeyring), entry not opened by doctor; else key file")
    assert memory_keyring.reads == 0  # opening an entry may prompt for an unlock

    monkeypatch.setenv("CRMCLI_KEY_FILE", str(tmp_path / "missing.key"))
    assert key_source_hint(DB) == f"key file {tmp_path / 'missing.key'} (CRMCLI_KEY_FILE) - missing"
    assert recovery_code(KEY) not in hint


def test_key_info_repr_hides_the_key() -> None:
    info = KeyInfo(KEY, "key file x")
    assert KEY.hex() not in repr(info) and repr(KEY) not in repr(info)
    assert "key file x" in repr(info)


# --------------------------------------------------------------------------- start-up


def test_importing_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, crmcli.credentials, crmcli.sensitive;"
        "print([m for m in ('keyring', 'cryptography', 'platformdirs', 'phonenumbers')"
        " if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_decrypt_many_equals_decrypt_and_refuses_a_wrong_key() -> None:
    from crmcli.credentials import Vault, new_master_key
    from crmcli.errors import WrongKey

    vault = Vault(new_master_key())
    values = ["13812345678", "张伟@example.com", "", "x" * 500]
    blobs = [vault.encrypt(v, context="phone") for v in values]
    assert vault.decrypt_many(blobs, context="phone") == values
    assert vault.decrypt_many(iter(blobs), context="phone") == [
        vault.decrypt(b, context="phone") for b in blobs
    ]
    with pytest.raises(WrongKey):
        Vault(new_master_key()).decrypt_many(blobs, context="phone")
    with pytest.raises(WrongKey):
        vault.decrypt_many(blobs, context="email")  # the context is authenticated too
