"""What encrypting contact details costs, with and without encryption in the same run.

    python benchmarks/run_crypto.py [--customers 100000] [--runs 10] [--workdir /tmp/crmbench]
                                    [--parts 123] [--reseal]

0. First, the encrypted database's contacts are sealed (`store.sealed.seal_missing`: one blob a
   customer), timed: what the first write holding the key pays after the upgrade (`--reseal`
   unseals every customer first, to time it again), and the size of the blobs.
1. In-process: `Vault.decrypt` of N phone payloads and N emails (AES-256-GCM), and
   `store.contacts.decrypted_contacts` over every customer of the database, in one call (clean,
   a revealed listing) and 1,000 ids a call (`export --reveal`), each next to the same reads
   (the sealed blobs) without decrypting; then `decrypted_contacts` and `dedupe.load_records` on
   the encrypted database against the same on the plaintext copy (no blobs: it reads the rows,
   as an unencrypted schema would), the cost of encryption; wall and CPU time, taking turns
   (the load drifts).
2. Whole process, in one loop: `search <name>`, `search <last 4 digits>`, `stale --days 90` and
   `show ID` on the encrypted database with the key available, with no key anywhere, and on a copy
   whose contact columns hold plaintext instead of ciphertext (the "without encryption" baseline);
   plus `search <full phone>` (a keyed-hash lookup: loads the key) and `show ID --reveal`.
3. `python -X importtime`: which commands import `cryptography` and `keyring` at all.

Target (issue #6): search and stale no slower than without encryption (they never decrypt);
export --reveal / dedupe pay at most 0.5 s for decryption at 100k customers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from load_db import build  # noqa: E402
from timing import measure, print_table  # noqa: E402

CRM = [sys.executable, "-m", "crmcli"]


def _best_of(fn: Callable[[], object], runs: int = 3) -> float:
    """Median seconds of `runs` calls."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# --------------------------------------------------------------------------- in-process


def vault_figures(n: int) -> list[dict[str, object]]:
    from crmcli.credentials import Vault, new_master_key

    vault = Vault(new_master_key())
    phones = [
        vault.encrypt(
            json.dumps({"raw": f"138 {i:04d} {i % 9999:04d}", "e164": f"+86138{i:08d}"}),
            context="phone",
        )
        for i in range(n)
    ]
    emails = [vault.encrypt(f"person.{i}@example.com", context="email") for i in range(n)]
    phone_s = _best_of(lambda: [vault.decrypt(b, context="phone") for b in phones])
    email_s = _best_of(lambda: [vault.decrypt(b, context="email") for b in emails])
    many_s = _best_of(lambda: vault.decrypt_many(phones, context="phone"))
    blind_s = _best_of(lambda: [vault.blind("e164", f"+86138{i:08d}") for i in range(n)])
    return [
        {"what": f"Vault.decrypt {n:,} phones", "ms": phone_s * 1e3, "us_each": phone_s / n * 1e6},
        {"what": f"Vault.decrypt {n:,} emails", "ms": email_s * 1e3, "us_each": email_s / n * 1e6},
        {
            "what": f"Vault.decrypt_many {n:,} phones",
            "ms": many_s * 1e3,
            "us_each": many_s / n * 1e6,
        },
        {"what": f"Vault.blind {n:,} phones", "ms": blind_s * 1e3, "us_each": blind_s / n * 1e6},
    ]


def store_figures(db: Path, key_file: Path, runs: int = 3) -> list[dict[str, object]]:
    """decrypted_contacts over the whole database, and the same reads without decrypting."""
    from crmcli.store import contacts as contacts_db
    from crmcli.store import open_store, sealed

    with open_store(db, key_file=key_file) as store:
        vault = store.vault(interactive=False)
        ids = [r[0] for r in store.query("SELECT id FROM customers WHERE merged_into IS NULL")]
        counts = store.query("SELECT (SELECT COUNT(*) FROM phones), (SELECT COUNT(*) FROM emails)")

        def read_chunks() -> None:  # how decrypted_contacts read before (IN chunks of 900)
            for start in range(0, len(ids), 900):
                chunk = ids[start : start + 900]
                marks = ",".join("?" * len(chunk))
                for table in ("phones", "emails"):
                    store.query(
                        f"SELECT customer_id, value_enc FROM {table} WHERE customer_id IN"
                        f" ({marks}) ORDER BY customer_id, position",
                        chunk,
                    )

        def read_only(chunk: int) -> None:  # the reads decrypted_contacts makes, no decryption
            for start in range(0, len(ids), chunk):
                for _rows in sealed.blob_rows(store, set(ids[start : start + chunk])):
                    pass

        def decrypt(chunk: int) -> None:
            for start in range(0, len(ids), chunk):
                contacts_db.decrypted_contacts(store, ids[start : start + chunk], vault)

        rows: list[dict[str, object]] = []
        phones, emails = counts[0]
        what = f"{len(ids):,} customers ({phones:,} phones, {emails:,} emails)"
        wall, cpu = _interleaved([read_chunks], runs)
        rows.append(
            {
                "what": f"read ciphertexts of {what} in IN chunks of 900 ids (the old reads)",
                "ms": wall[0] * 1e3,
                "cpu_ms": cpu[0] * 1e3,
            }
        )
        # All ids in one call (clean, a revealed listing), and 1,000 a call (export --reveal).
        for label, chunk in (("in one call", len(ids)), ("1,000 ids a call", 1000)):
            wall, cpu = _interleaved(
                [lambda: read_only(chunk), lambda: decrypt(chunk)],  # noqa: B023
                runs,
            )
            rows += [
                {
                    "what": f"read sealed blobs of {what}, {label}",
                    "ms": wall[0] * 1e3,
                    "cpu_ms": cpu[0] * 1e3,
                },
                {
                    "what": f"decrypted_contacts of {what}, {label}",
                    "ms": wall[1] * 1e3,
                    "cpu_ms": cpu[1] * 1e3,
                },
                {
                    "what": "= decryption and building the answer, over the bare reads",
                    "ms": (wall[1] - wall[0]) * 1e3,
                    "cpu_ms": (cpu[1] - cpu[0]) * 1e3,
                },
            ]
    return rows


class _PlainVault:
    """What an unencrypted schema needs instead of the vault: the stored bytes, decoded."""

    def decrypt_many(self, blobs: Iterable[bytes], *, context: str = "") -> list[str]:
        return [blob.decode("utf-8") for blob in blobs]


def against_plaintext(db: Path, key_file: Path, plain: Path, runs: int) -> list[dict[str, object]]:
    """The cost of encryption as the issue states it: the same code with and without it.

    `decrypted_contacts` (a revealed listing, `export --reveal`) and `dedupe.load_records`
    (dedupe's records, phones decrypted) over every customer, on the encrypted database with
    its vault and on the plaintext copy (same rows, contact columns holding the plaintext, no
    sealed blobs) with `_PlainVault`, taking turns. The difference is what encryption costs:
    the AES-GCM calls, and for `decrypted_contacts` reading one sealed blob per customer (and
    splitting it) where the plaintext copy reads the phone and e-mail rows, as an unencrypted
    schema would. Both build the same answer."""
    from crmcli.operations import dedupe
    from crmcli.store import contacts as contacts_db
    from crmcli.store import open_store

    rows: list[dict[str, object]] = []
    with open_store(db, key_file=key_file) as store, open_store(plain) as plain_store:
        vault = store.vault(interactive=False)
        ids = [r[0] for r in store.query("SELECT id FROM customers WHERE merged_into IS NULL")]
        # dedupe loads candidates 10k at a time (operations/dedupe.py), so the same here
        tenk = [ids[i : i + 10_000] for i in range(0, len(ids), 10_000)]
        cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
            (
                f"decrypted_contacts of {len(ids):,} customers in one call",
                lambda: contacts_db.decrypted_contacts(store, ids, vault),
                lambda: contacts_db.decrypted_contacts(plain_store, ids, _PlainVault()),
            ),
            (
                f"dedupe.load_records of {len(ids):,} customers, 10,000 a call",
                lambda: [dedupe.load_records(store, c, vault) for c in tenk],
                lambda: [dedupe.load_records(plain_store, c, _PlainVault()) for c in tenk],
            ),
        ]
        for label, encrypted, plaintext in cases:
            wall, cpu = _interleaved([plaintext, encrypted], runs)
            rows += [
                {"what": f"{label}, plaintext copy", "ms": wall[0] * 1e3, "cpu_ms": cpu[0] * 1e3},
                {"what": f"{label}, encrypted", "ms": wall[1] * 1e3, "cpu_ms": cpu[1] * 1e3},
                {
                    "what": "= cost of encryption (budget 500 ms)",
                    "ms": (wall[1] - wall[0]) * 1e3,
                    "cpu_ms": (cpu[1] - cpu[0]) * 1e3,
                },
            ]
    return rows


def _interleaved(fns: list[Callable[[], object]], runs: int) -> tuple[list[float], list[float]]:
    """Median wall and CPU seconds of each function, run in turn `runs` times: on a shared
    machine the load drifts, and taking turns lets every function see the same drift. CPU time
    (this process only) is the steadier figure when other processes compete for the cores."""
    walls: list[list[float]] = [[] for _ in fns]
    cpus: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            cpus[i].append(time.process_time() - cpu)
            walls[i].append(time.perf_counter() - wall)
    return [statistics.median(w) for w in walls], [statistics.median(c) for c in cpus]


# --------------------------------------------------------------------------- the baseline


def plaintext_copy(db: Path, key_file: Path, target: Path) -> None:
    """A copy whose contact columns hold the plaintext (what an unencrypted schema stores), with
    no sealed contacts: read as an unencrypted schema reads, from the phones and emails rows."""
    from crmcli.credentials import Vault, read_key_file
    from crmcli.store import open_store

    if not (target.exists() and target.stat().st_mtime > db.stat().st_mtime):
        vault = Vault(read_key_file(key_file))
        with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
        with closing(sqlite3.connect(target)) as conn, conn:
            for table, context in (("phones", "phone"), ("emails", "email")):
                rows = conn.execute(f"SELECT id, value_enc FROM {table}").fetchall()
                conn.executemany(
                    f"UPDATE {table} SET value_enc = ? WHERE id = ?",
                    [(vault.decrypt(blob, context=context).encode(), i) for i, blob in rows],
                )
            conn.execute("DELETE FROM meta WHERE key = 'key_check'")  # no key: nothing to check
        with closing(sqlite3.connect(target)) as conn:
            conn.execute("VACUUM")
    # Opening migrates (a copy made before sealed contacts gets the table); then no blob at all,
    # so the reads below find none and take the rows (an empty range of a small table).
    with open_store(target) as store, store.write():
        store.conn.execute("DELETE FROM contacts_sealed")


def seal(db: Path, key_file: Path, *, again: bool = False) -> list[dict[str, object]]:
    """Seal the encrypted database's contacts (`store.sealed.seal_missing`), timed: what the
    first write holding the key pays after the upgrade. `again` unseals every customer first."""
    from crmcli.store import open_store, sealed

    rows: list[dict[str, object]] = []
    started = time.perf_counter()
    with open_store(db, key_file=key_file) as store:
        rows.append({"what": "open (and migrate)", "ms": (time.perf_counter() - started) * 1e3})
        if again:  # before the vault is open: a write holding it would seal on commit
            with store.write():
                store.conn.execute("UPDATE contacts_sealed SET contacts_enc = NULL")
        vault = store.vault(interactive=False)
        missing = sealed.unsealed_count(store)
        wall, cpu = time.perf_counter(), time.process_time()
        with store.write():
            count = sealed.seal_missing(store, vault)
        rows.append(
            {
                "what": f"seal_missing: {count:,} of {missing:,} unsealed customers, committed",
                "ms": (time.perf_counter() - wall) * 1e3,
                "cpu_ms": (time.process_time() - cpu) * 1e3,
                "us_each": (time.perf_counter() - wall) / max(count, 1) * 1e6,
            }
        )
        size = store.scalar(
            "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('contacts_sealed', 'contacts_unsealed')"
        )
        total = store.scalar("SELECT SUM(pgsize) FROM dbstat")
        rows.append(
            {
                "what": f"contacts_sealed size: {size / 1e6:.1f} MB of {total / 1e6:.1f} MB"
                f" ({size / max(total - size, 1):.1%} more)",
            }
        )
    return rows


# --------------------------------------------------------------------------- whole process


def pick(db: Path) -> dict[str, str]:
    with closing(sqlite3.connect(db)) as conn:
        name = conn.execute(
            "SELECT name FROM customers WHERE length(name) = 3 AND unicode(name) > 19968"
            " LIMIT 1 OFFSET 17"
        ).fetchone()[0]
        tail4 = conn.execute("SELECT tail4 FROM phones LIMIT 1 OFFSET 9").fetchone()[0]
        cid = conn.execute(
            "SELECT customer_id FROM phones GROUP BY customer_id LIMIT 1 OFFSET 42"
        ).fetchone()[0]
    return {"name": name, "tail4": tail4, "id": str(cid)}


def full_phone_of(db: Path, key_file: Path, customer_id: str) -> str:
    from crmcli.store import contacts as contacts_db
    from crmcli.store import open_store

    with open_store(db, key_file=key_file) as store:
        plain = contacts_db.decrypted_contacts(store, [int(customer_id)], store.vault())
    return str(plain[int(customer_id)]["phones"][0]).split(" ")[0]


def has_command(name: str) -> bool:
    result = subprocess.run([*CRM, name, "--help"], capture_output=True)
    return result.returncode == 0


def imports(args: list[str], env: dict[str, str]) -> dict[str, bool]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "crmcli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
    )
    names = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    return {
        lib: any(n == lib or n.startswith(lib + ".") for n in names)
        for lib in ("cryptography", "keyring")
    }


def run(customers: int, runs: int, workdir: Path, parts: str = "123", reseal: bool = False) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / f"crypto-{customers}.db"
    key_file = db.with_suffix(".key")
    if not db.exists() or not key_file.exists():
        print(f"building {db} …", file=sys.stderr)
        print(build(db, customers), file=sys.stderr)
    os.environ.pop("CRMCLI_KEY_FILE", None)  # build() sets it; the runs below choose their own
    sealing = seal(db, key_file, again=reseal)
    print("## Sealing contacts\n")
    print_table(sealing, ["what", "ms", "cpu_ms", "us_each"])
    print()
    plain = workdir / f"crypto-{customers}-plaintext.db"
    plaintext_copy(db, key_file, plain)
    empty_config = workdir / "crypto-no-config"
    shutil.rmtree(empty_config, ignore_errors=True)
    empty_config.mkdir()

    if "1" in parts:
        print("## In-process\n")
        rows = vault_figures(customers) + store_figures(db, key_file, max(3, runs // 2))
        rows += against_plaintext(db, key_file, plain, runs)
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
        print_table(rows, ["what", "ms", "cpu_ms", "us_each"])
    if "2" in parts or "3" in parts:
        whole_process(db, key_file, plain, empty_config, customers, runs, parts)


def whole_process(
    db: Path, key_file: Path, plain: Path, empty_config: Path, customers: int, runs: int, parts: str
) -> None:
    base = {
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "CRMCLI_CONFIG_DIR": str(empty_config),
        "NO_COLOR": "1",
    }
    encrypted = {**base, "CRMCLI_DB": str(db)}
    setups = {
        "encrypted, key available": {**encrypted, "CRMCLI_KEY_FILE": str(key_file)},
        "encrypted, no key anywhere": encrypted,
        "plaintext baseline": {**base, "CRMCLI_DB": str(plain)},
    }
    q = pick(db)
    keyed = setups["encrypted, key available"]
    phone = full_phone_of(db, key_file, q["id"])
    if "2" in parts:
        commands: list[tuple[str, list[str]]] = [
            (f"search {q['name']} (name)", ["search", q["name"], "-f", "csv"]),
            (f"search {q['tail4']} (last 4 digits)", ["search", q["tail4"], "-f", "csv"]),
            (f"show {q['id']}", ["show", q["id"], "-f", "json"]),
        ]
        if has_command("stale"):
            commands.append(("stale --days 90", ["stale", "--days", "90", "-f", "csv"]))
        print(f"\n## Whole process, {customers:,} customers, median of {runs} runs\n")
        rows = []
        for label, args in commands:
            row: dict[str, object] = {"command": label}
            for setup, env in setups.items():
                row[setup] = round(measure([*CRM, *args], runs, env)["median_ms"])
            rows.append(row)
        for label, args in (
            (f"search {phone[:3]}…{phone[-4:]} (full phone)", ["search", phone, "-f", "csv"]),
            (f"show {q['id']} --reveal", ["show", q["id"], "--reveal", "-f", "json"]),
        ):
            median = measure([*CRM, *args], runs, keyed)["median_ms"]
            rows.append({"command": label, "encrypted, key available": round(median)})
        print_table(rows, ["command", *setups])

    if "3" in parts:
        print("\n## Heavy libraries imported (python -X importtime)\n")
        checks = [
            ("search <name>", ["search", q["name"]]),
            ("search <last 4>", ["search", q["tail4"]]),
            ("show ID", ["show", q["id"]]),
            ("search <full phone>", ["search", phone]),
            ("show ID --reveal", ["show", q["id"], "--reveal"]),
        ]
        if has_command("stale"):
            checks.insert(2, ("stale --days 90", ["stale", "--days", "90"]))
        rows = [{"command": label, **imports(args, keyed)} for label, args in checks]
        print_table(rows, ["command", "cryptography", "keyring"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "crmbench"
    )
    parser.add_argument(
        "--parts",
        default="123",
        help="which parts to run: 1 in-process, 2 whole process, 3 imports (default 123)",
    )
    parser.add_argument(
        "--reseal",
        action="store_true",
        help="unseal every customer first, to time sealing a whole database again",
    )
    args = parser.parse_args()
    run(args.customers, args.runs, args.workdir, args.parts, args.reseal)


if __name__ == "__main__":
    main()
