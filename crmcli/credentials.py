"""Keys and the crypto of contact fields.

This module owns everything secret: the 32-byte master key of a database, where it is kept (the
OS keyring, a key file, or a recovery code typed by the user), and the sub-keys derived from it
that encrypt contact details (AES-256-GCM), hash them for exact lookup (HMAC-SHA256 "blind
index") and tell a right key from a wrong one (a check value stored in the database).

Rules kept here:
- keyring, cryptography and platformdirs are imported inside functions: `import keyring` alone costs
  85-160 ms and most commands (the nightly report above all) never need a key.
- Every exception from keyring is caught: with no desktop session it raises NoKeyringError, without
  D-Bus RuntimeError, and a locked keyring may prompt or hang (calls run with a timeout).
- keyrings.alt backends are never used: they store secrets in plain files without saying so.
- No key, recovery code or key material ever appears in a message, log or repr.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from crmcli.errors import InvalidInput, NotConfigured, WrongKey

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from keyring.backend import KeyringBackend

KEY_BYTES = 32
KEYRING_SERVICE = "crmcli"
ENV_KEY_FILE = "CRMCLI_KEY_FILE"
ENV_CONFIG_DIR = "CRMCLI_CONFIG_DIR"

_NONCE_BYTES = 12
_TAG_BYTES = 16
_INFO_ENC = b"crmcli enc v1"
_INFO_HASH = b"crmcli hash v1"
_INFO_CHECK = b"crmcli check v1"

# A keyring call that does not return in this time is treated as "no keyring": a locked keyring
# can block on an unlock dialog nobody will answer (cron, ssh). A user at a terminal gets longer.
_KEYRING_TIMEOUT_S = 10.0
_KEYRING_TIMEOUT_INTERACTIVE_S = 120.0

_RECOVERY_GROUPS = 13  # 32 bytes -> 52 base32 characters -> 13 groups of 4
_RECOVERY_CHARS = _RECOVERY_GROUPS * 4 + 4  # plus one checksum group
# People copy codes by hand: digits that look like base32 letters are read as those letters.
_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})
_DB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

_T = TypeVar("_T")


# --------------------------------------------------------------------------- the vault (crypto)


def _hkdf_sha256(key: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 HKDF, all-zero salt; stdlib only, so hashing needs no `cryptography` import."""
    prk = hmac.new(b"\x00" * hashlib.sha256().digest_size, key, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


_BLINDED_KEPT = 16384  # ~3 MB; an import chunk (1,000 rows) blinds ~3,000 values


class Vault:
    """Sub-keys derived from one 32-byte master key with HKDF-SHA256.

    info b"crmcli enc v1" -> AES-256-GCM key; b"crmcli hash v1" -> HMAC key of the blind index;
    b"crmcli check v1" -> the check value. The master key itself is not kept.
    """

    __slots__ = ("_aead", "_blinded", "_check_key", "_enc_key", "_hash_key")

    def __init__(self, master_key: bytes) -> None:
        if not isinstance(master_key, bytes | bytearray) or len(master_key) != KEY_BYTES:
            raise ValueError(f"a crmcli key is {KEY_BYTES} bytes")
        master = bytes(master_key)
        self._enc_key = _hkdf_sha256(master, _INFO_ENC)
        self._hash_key = _hkdf_sha256(master, _INFO_HASH)
        self._check_key = _hkdf_sha256(master, _INFO_CHECK)
        self._aead: AESGCM | None = None  # built on first use: hashing alone needs no cryptography
        # An import hashes each contact twice (to match it, then to store it): remember a chunk's.
        self._blinded: dict[tuple[str, str], str] = {}

    def __repr__(self) -> str:
        return "Vault(<key hidden>)"

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = AESGCM(self._enc_key)
        return self._aead

    def encrypt(self, plaintext: str, *, context: str = "") -> bytes:
        """AES-256-GCM: 12-byte random nonce || ciphertext+tag. `context` is bound as associated
        data (e.g. "phone"), so a value moved to another column no longer decrypts."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._cipher().encrypt(nonce, plaintext.encode("utf-8"), context.encode())

    def decrypt(self, blob: bytes, *, context: str = "") -> str:
        from cryptography.exceptions import InvalidTag

        if len(blob) < _NONCE_BYTES + _TAG_BYTES:
            # Too short to have been written by encrypt(): damage, not a wrong key.
            raise InvalidInput("a stored contact detail is damaged (too short to decrypt)")
        nonce, body = bytes(blob[:_NONCE_BYTES]), bytes(blob[_NONCE_BYTES:])
        try:
            data = self._cipher().decrypt(nonce, body, context.encode())
        except InvalidTag:
            raise WrongKey("the key does not open this database's contact details") from None
        return data.decode("utf-8")

    def decrypt_many(self, blobs: Iterable[bytes], *, context: str = "") -> list[str]:
        """`decrypt` over many values, with the per-call work hoisted (exports, dedupe).

        The bytes are sliced (a ~90-byte copy): cheaper than a memoryview and two slices of it
        by 0.3-0.7 µs a value (measured), and at 200k values every 0.1 µs is 20 ms (issue #6)."""
        from cryptography.exceptions import InvalidTag

        decrypt, aad = self._cipher().decrypt, context.encode()
        out: list[str] = []
        append = out.append
        shortest, n = _NONCE_BYTES + _TAG_BYTES, _NONCE_BYTES
        try:
            for blob in blobs:
                if len(blob) < shortest:
                    raise InvalidInput("a stored contact detail is damaged (too short to decrypt)")
                append(decrypt(blob[:n], blob[n:], aad).decode("utf-8"))
        except InvalidTag:
            raise WrongKey("the key does not open this database's contact details") from None
        return out

    def decrypt_each(self, items: Iterable[tuple[bytes, bytes]]) -> list[str | None]:
        """`decrypt` of (blob, associated data) pairs, each bound to its own data (a sealed
        customer's contacts bind its id: `crmcli.store.sealed`).

        None for a value that does not open (too short, another key, bound to other data): the
        caller has the rows it was made from and decides what that means."""
        from cryptography.exceptions import InvalidTag

        decrypt = self._cipher().decrypt
        out: list[str | None] = []
        append = out.append
        shortest, n = _NONCE_BYTES + _TAG_BYTES, _NONCE_BYTES
        for blob, aad in items:
            if len(blob) < shortest:
                append(None)
                continue
            try:
                append(decrypt(blob[:n], blob[n:], aad).decode("utf-8"))
            except InvalidTag:
                append(None)
        return out

    def blind(self, purpose: str, value: str) -> str:
        """Keyed hash for exact lookup: HMAC-SHA256(hash_key, purpose NUL value), 16 bytes as hex.

        The caller normalises `value` first (E.164 phone, lower-cased email); `purpose` keeps
        equal values of different kinds apart."""
        found = self._blinded.get((purpose, value))
        if found is None:
            msg = f"{purpose}\x00{value}".encode()
            found = hmac.digest(self._hash_key, msg, "sha256")[:16].hex()
            if len(self._blinded) >= _BLINDED_KEPT:
                self._blinded.clear()
            self._blinded[(purpose, value)] = found
        return found

    def check_value(self) -> str:
        """A value stored in the database: equal for the right key, different for any other.
        It is an HMAC under its own sub-key, so it reveals nothing about the other sub-keys."""
        return hmac.new(self._check_key, b"crmcli key check", hashlib.sha256).hexdigest()[:32]

    def verify(self, stored_check_value: str) -> None:
        """Raise WrongKey unless this key made `stored_check_value`."""
        if not hmac.compare_digest(self.check_value(), stored_check_value):
            raise WrongKey("the key does not open this database's contact details")


def new_master_key() -> bytes:
    return os.urandom(KEY_BYTES)


# --------------------------------------------------------------------------- recovery code


def _checksum_group(key: bytes) -> str:
    return base64.b32encode(hashlib.sha256(b"crmcli recovery v1" + key).digest())[:4].decode()


def recovery_code(key: bytes) -> str:
    """The key as 14 groups of 4 base32 characters joined by "-": 13 for the key, 1 checksum."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a crmcli key is {KEY_BYTES} bytes")
    body = base64.b32encode(key).decode().rstrip("=")
    chars = body + _checksum_group(key)
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


def parse_recovery_code(text: str) -> bytes:
    """Read a recovery code typed by a person: any case, spaces or dashes anywhere, 0/1/8 for O/I/B.

    Raises InvalidInput (without echoing the code) on a wrong length or checksum."""
    chars = re.sub(r"[\s\-_]", "", text).upper().translate(_LOOKALIKES)
    if len(chars) != _RECOVERY_CHARS:
        raise InvalidInput(
            f"a recovery code has {_RECOVERY_CHARS} letters and digits "
            f"(14 groups of 4); this one has {len(chars)}"
        )
    if not re.fullmatch(r"[A-Z2-7]+", chars):
        raise InvalidInput("a recovery code holds only the letters A-Z and the digits 2-7")
    body, check = chars[:-4], chars[-4:]
    try:
        key = base64.b32decode(body + "====")
    except ValueError:
        raise InvalidInput("the recovery code does not check out; look for a typo") from None
    canonical = base64.b32encode(key).decode().rstrip("=") == body
    if (
        len(key) != KEY_BYTES
        or not canonical
        or not hmac.compare_digest(_checksum_group(key), check)
    ):
        raise InvalidInput("the recovery code does not check out; look for a typo")
    return key


# --------------------------------------------------------------------------- paths and key files


def _check_db_id(db_id: str) -> str:
    # db_id becomes a file name and a keyring user name: keep it to a safe alphabet.
    if not _DB_ID.fullmatch(db_id) or ".." in db_id:
        raise InvalidInput("a database id is 1-128 letters, digits, '.', '_' or '-'")
    return db_id


def config_dir() -> Path:
    env = os.environ.get(ENV_CONFIG_DIR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("crmcli"))


def default_key_file(db_id: str) -> Path:
    return config_dir() / "keys" / f"{_check_db_id(db_id)}.key"


def _env_key_file() -> Path | None:
    env = os.environ.get(ENV_KEY_FILE)
    return Path(env).expanduser() if env else None


def _readable_by_others(path: Path) -> bool:
    if os.name == "nt":  # POSIX mode bits mean nothing there; ACLs are the user's business
        return False
    return bool(path.stat().st_mode & 0o077)


def read_key_file(path: Path) -> bytes:
    """The key in a key file: the first line that is not blank or a `#` comment is a recovery code.

    Raises NotConfigured naming the path when the file is missing, unreadable, readable by others
    or does not hold a key."""
    try:
        if _readable_by_others(path):
            raise NotConfigured(f"key file {path} is readable by others; chmod 600 it")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotConfigured(f"key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a text file"
        raise NotConfigured(f"key file {path} cannot be read: {reason}") from None
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            try:
                return parse_recovery_code(line)
            except InvalidInput as exc:
                raise NotConfigured(f"key file {path} does not hold a crmcli key: {exc}") from None
    raise NotConfigured(f"key file {path} is empty")


def write_key_file(path: Path, db_id: str, key: bytes) -> None:
    """Write `key` as a key file at `path` (0600, atomically), e.g. for `crmcli key export`."""
    _write_key_file(Path(path).expanduser(), _check_db_id(db_id), key)


def _write_key_file(path: Path, db_id: str, key: bytes) -> None:
    """Create the file 0600 atomically: a temp file in the same directory, then os.replace."""
    import tempfile  # 9 ms at import time, needed only here

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    content = (
        f"# crmcli key of database {db_id}. Keep this file private (mode 600);\n"
        "# the line below is also its recovery code: `crmcli key import` accepts it.\n"
        f"{recovery_code(key)}\n"
    )
    fd, tmp = tempfile.mkstemp(prefix=".crmcli-key-", dir=path.parent)  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- the OS keyring


def _keyring_label(backend: object) -> str:
    # "keyring.backends.SecretService" -> "SecretService"; other backends show their class name.
    module = type(backend).__module__
    if module.startswith("keyring.backends."):
        return module.split(".")[2]
    return type(backend).__name__


def _acceptable(backend: Any) -> bool:
    module = type(backend).__module__
    if module.startswith("keyrings.alt") or module in (
        "keyring.backends.fail",
        "keyring.backends.null",
    ):
        return False
    return float(backend.priority) >= 1


def usable_keyring() -> KeyringBackend | None:
    """The OS keyring backend if a real one is available, else None.

    keyring.get_keyring() honours PYTHON_KEYRING_BACKEND and keyring.set_keyring(). Rejected:
    priority < 1, the fail/null backends, keyrings.alt (plain files), a chainer with nothing usable
    (from a chainer, its best acceptable member is returned). Any exception means None."""
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend

        backend = keyring.get_keyring()
        if isinstance(backend, ChainerBackend):
            members = [b for b in backend.backends if _acceptable(b)]
            return members[0] if members else None
        return backend if _acceptable(backend) else None
    except Exception:
        return None


def _with_timeout(fn: Callable[[], _T], timeout: float) -> _T:
    """Run a keyring call in a daemon thread: a hung D-Bus call must not hang crmcli."""
    result: list[_T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            error.append(exc)

    worker = threading.Thread(target=run, name="crmcli-keyring", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"the OS keyring did not answer within {timeout:g} s")
    if error:
        raise error[0]
    return result[0]


def _keyring_get(backend: KeyringBackend, db_id: str, timeout: float) -> str | None:
    return _with_timeout(lambda: backend.get_password(KEYRING_SERVICE, db_id), timeout)


# --------------------------------------------------------------------------- finding the key


@dataclass(frozen=True)
class KeyInfo:
    """A loaded key and a one-line description of where it came from (safe to print)."""

    key: bytes = field(repr=False)
    source: str


def _explicit_key_file(key_file: Path | None) -> tuple[Path, str] | None:
    if key_file is not None:
        return Path(key_file).expanduser(), "given"
    env = _env_key_file()
    return (env, ENV_KEY_FILE) if env is not None else None


def resolve_key(db_id: str, *, key_file: Path | None = None, interactive: bool = False) -> KeyInfo:
    """Find the key of database `db_id`.

    Order: `key_file`, else $CRMCLI_KEY_FILE (an explicit file must work: no fallback); the OS
    keyring (service "crmcli", user db_id) when a real one is usable; default_key_file(db_id) when
    it exists; when `interactive`, the recovery code typed at a getpass prompt. Else NotConfigured.
    """
    _check_db_id(db_id)
    explicit = _explicit_key_file(key_file)
    if explicit is not None:
        path, how = explicit
        try:
            return KeyInfo(read_key_file(path), f"key file {path} ({how})")
        except NotConfigured as exc:
            # The CLI's --key-file also reads $CRMCLI_KEY_FILE: name both, so a stale variable
            # in a crontab or a shell profile is easy to spot.
            raise NotConfigured(
                exc.message,
                hint=f"the key file comes from --key-file or {ENV_KEY_FILE}; point it at this "
                "database's key file, or unset it to use the OS keyring or the config directory",
            ) from None

    notes: list[str] = []
    backend = usable_keyring()
    if backend is not None:
        timeout = _KEYRING_TIMEOUT_INTERACTIVE_S if interactive else _KEYRING_TIMEOUT_S
        try:
            stored = _keyring_get(backend, db_id, timeout)
        except Exception as exc:  # locked, no D-Bus, timeout: fall back to the key file
            stored = None
            notes.append(f"the OS keyring failed ({type(exc).__name__})")
        if stored is not None:
            try:
                return KeyInfo(
                    parse_recovery_code(stored), f"OS keyring ({_keyring_label(backend)})"
                )
            except InvalidInput:
                notes.append("the OS keyring entry is not a crmcli key")

    default = default_key_file(db_id)
    if default.exists():
        return KeyInfo(read_key_file(default), f"key file {default}")

    if interactive:
        return KeyInfo(_prompt_recovery_code(), "recovery code typed at the prompt")

    detail = f"; {', '.join(notes)}" if notes else ""
    raise NotConfigured(
        "no key for this database: set CRMCLI_KEY_FILE to its key file, or run "
        f"`crmcli key import` (it asks for the recovery code){detail}"
    )


def _prompt_recovery_code(attempts: int = 3) -> bytes:
    for attempt in range(1, attempts + 1):
        try:
            typed = getpass.getpass("Recovery code of this database: ")
        except EOFError:
            break
        try:
            return parse_recovery_code(typed)
        except InvalidInput as exc:
            if attempt == attempts:
                raise
            print(f"{exc.message}. Try again.", file=sys.stderr)
    raise NotConfigured("no recovery code was typed")


def store_key(
    db_id: str, key: bytes, *, key_file: Path | None = None, overwrite: bool = False
) -> str:
    """Keep `key` for database `db_id`; return a one-line description of where it went.

    An explicit key file (`key_file`, else $CRMCLI_KEY_FILE) is written as asked, since
    resolve_key reads it first. Otherwise the OS keyring when usable (verified by reading back),
    else default_key_file(db_id). Files are created 0600 atomically in 0700 directories.
    A different key already stored there is not replaced unless `overwrite` (InvalidInput)."""
    _check_db_id(db_id)
    if len(key) != KEY_BYTES:
        raise ValueError(f"a crmcli key is {KEY_BYTES} bytes")
    explicit = _explicit_key_file(key_file)
    if explicit is not None:
        path, how = explicit
        return _store_in_file(path, db_id, key, overwrite, f"key file {path} ({how})")

    fallback_reason = "no usable OS keyring"
    backend = usable_keyring()
    if backend is not None:
        label = _keyring_label(backend)
        code = recovery_code(key)
        try:
            existing = _keyring_get(backend, db_id, _KEYRING_TIMEOUT_INTERACTIVE_S)
            if existing is not None and not overwrite and not _same_key(existing, key):
                raise InvalidInput(
                    f"the OS keyring ({label}) already holds a different key for this database; "
                    "pass overwrite to replace it"
                )
            _with_timeout(
                lambda: backend.set_password(KEYRING_SERVICE, db_id, code),
                _KEYRING_TIMEOUT_INTERACTIVE_S,
            )
            if _keyring_get(backend, db_id, _KEYRING_TIMEOUT_INTERACTIVE_S) == code:
                return f"OS keyring ({label}), service {KEYRING_SERVICE!r}, entry {db_id!r}"
            fallback_reason = f"the OS keyring ({label}) did not keep it"
        except InvalidInput:
            raise
        except Exception as exc:
            fallback_reason = f"the OS keyring ({label}) failed: {type(exc).__name__}"
    path = default_key_file(db_id)
    return _store_in_file(path, db_id, key, overwrite, f"key file {path} ({fallback_reason})")


def _same_key(stored_code: str, key: bytes) -> bool:
    try:
        return hmac.compare_digest(parse_recovery_code(stored_code), key)
    except InvalidInput:
        return False


def _store_in_file(path: Path, db_id: str, key: bytes, overwrite: bool, description: str) -> str:
    if path.exists() and not overwrite:
        try:
            same = hmac.compare_digest(read_key_file(path), key)
        except NotConfigured:
            same = False
        if not same:
            raise InvalidInput(f"{path} already exists and does not hold this key; move it away")
    _write_key_file(path, db_id, key)
    return description


def key_source_hint(db_id: str, *, key_file: Path | None = None) -> str:
    """Where resolve_key would look, for `doctor`. Never opens the keyring entry (that may prompt
    for an unlock) and never loads or prints the key; "none found" when nothing is there."""
    _check_db_id(db_id)
    explicit = _explicit_key_file(key_file)
    if explicit is not None:
        path, how = explicit
        return f"key file {path} ({how}){_file_problem(path)}"
    parts: list[str] = []
    backend = usable_keyring()
    if backend is not None:
        parts.append(f"OS keyring ({_keyring_label(backend)}), entry not opened by doctor")
    default = default_key_file(db_id)
    if default.exists():
        parts.append(f"key file {default}{_file_problem(default)}")
    return "; else ".join(parts) if parts else "none found"


def _file_problem(path: Path) -> str:
    try:
        if not path.exists():
            return " - missing"
        if _readable_by_others(path):
            return " - readable by others, chmod 600 it"
    except OSError as exc:
        return f" - cannot be read: {exc.strerror}"
    return ""
