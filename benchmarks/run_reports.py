"""The reports (`stale`, `stats`, `followups`), whole process, next to their floors.

    python benchmarks/run_reports.py --customers 1000000 --interactions 10 [--runs 5]
        [--workdir /tmp/crmbench]

Builds (or reuses) a database of N customers with about `--interactions` × N interactions with
a bulk loader (below), then times, in one loop:

- the Typer start-up floor (`hello_typer.py hello`) and `crmcli --version`;
- `crmcli stale --days 90 --format csv` and the same query run by the `sqlite3` shell on the
  same file (`-csv -header`, output to /dev/null): the SQL floor for the same answer;
- `stale --new-only` on its second run (the nightly steady state), `stale` as a table of 50;
- `crmcli stats` (table) and `stats --format json`; `followups --format csv`.

Targets (issue #5): stale ≤ floor + 2 × the sqlite3 shell's time; stats ≤ 2 s.

The loader writes rows with `executemany` straight into the schema crmcli's own migrations
create (`open_store`), indexes dropped during the load and rebuilt after with their own SQL. It
is ~50x faster than `load_db.py` (which sends every customer through pydantic, encryption and
the search index) and differs from a real database in what the reports never read: no search
index rows, and contact ciphertext that is a fixed dummy blob (masked copies are realistic).
Names, companies, cities, sources, tags, statuses and grades come from `generate.py` (a pool of
20,000 generated records, reused round-robin); dates are spread over the 3 years before today.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from generate import generate  # noqa: E402
from timing import measure, print_table  # noqa: E402

POOL = 20_000
CHUNK = 50_000
CHANNELS = ("call", "call", "call", "message", "message", "email", "meeting", "visit", "note")
DUMMY_CIPHERTEXT = bytes(range(48))


def _mask(e164: str) -> str:
    digits = e164.lstrip("+")
    local = digits[2:] if digits.startswith("86") else digits[1:] if digits[0] == "1" else digits
    return local[:3] + "*" * max(len(local) - 7, 3) + local[-4:]


def _stamp(day: date, seconds: int) -> str:
    return f"{day.isoformat()}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z"


def build(db: Path, customers: int, per_customer: float, seed: int = 1) -> dict[str, float]:
    """A benchmark database of `customers` customers, ~`per_customer` interactions each."""
    from crmcli.store import open_store

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    open_store(db, create=True).close()  # crmcli's own schema, migrated
    started = time.perf_counter()
    rng = random.Random(seed)
    today = date.today()
    pool = list(generate(POOL, seed=seed, dupes=0.0, hard_negatives=0.0, today=today))
    summaries = [i["summary"] for r in pool for i in r["interactions"]] or ["call"]

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")  # no multi-GB WAL during the load
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name IN ('customers', 'interactions', 'phones', 'tags')"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    interactions = 0
    mean_k = per_customer
    for start in range(0, customers, CHUNK):
        rows, phones, tags, events = [], [], [], []
        for cid in range(start + 1, min(start + CHUNK, customers) + 1):
            rec = pool[cid % POOL]
            first = today - timedelta(days=rng.randrange(1, 1096))
            span = (today - first).days
            k = min(int(rng.expovariate(1.0 / mean_k)), 60)
            last_at = last_channel = None
            for _ in range(k):
                day = first + timedelta(days=int(rng.random() * (span + 1)))
                at = _stamp(day, 28800 + int(rng.random() * 43200))
                channel = CHANNELS[int(rng.random() * len(CHANNELS))]
                follow = None
                if rng.random() < 0.1:
                    follow = (day + timedelta(days=1 + int(rng.random() * 30))).isoformat()
                summary = summaries[int(rng.random() * len(summaries))]
                events.append((cid, at, channel, summary, None, follow, at))
                if last_at is None or at > last_at:
                    last_at, last_channel = at, channel
            interactions += k
            follow_up = None
            if rng.random() < 0.3:
                follow_up = (today + timedelta(days=rng.randint(-60, 45))).isoformat()
            created = _stamp(first, 32400)
            rows.append(
                (
                    cid, f"KH{cid:08d}", rec["kind"], rec["name"], rec["company"],
                    rec["status"], rec["grade"], (rec["source"] or "").lower() or None,
                    rec["industry"], rec["city"], rec["needs"], first.isoformat(), last_at,
                    last_channel, follow_up, created, now, rec["name"].lower(),
                )
            )  # fmt: skip
            for pos, e164 in enumerate(rec["phones_e164"]):
                phones.append(
                    (cid, pos, DUMMY_CIPHERTEXT, _mask(e164), f"h{cid}.{pos}", f"t{cid}.{pos}",
                     e164[-4:])
                )  # fmt: skip
            tags.extend((cid, t.lower()) for t in rec["tags"])
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO customers (id, external_id, kind, name, company, status, grade, source,"
            " industry, city, needs, first_contact_on, last_contacted_at, last_channel,"
            " next_follow_up_on, created_at, updated_at, name_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO phones (customer_id, position, value_enc, masked, e164_hash, tail8_hash,"
            " tail4) VALUES (?, ?, ?, ?, ?, ?, ?)",
            phones,
        )
        conn.executemany("INSERT OR IGNORE INTO tags (customer_id, tag) VALUES (?, ?)", tags)
        conn.executemany(
            "INSERT INTO interactions (customer_id, at, channel, summary, outcome,"
            " next_follow_up_on, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            events,
        )
        conn.execute("COMMIT")
        print(f"  {min(start + CHUNK, customers):,} customers, {interactions:,} interactions…",
              file=sys.stderr, end="\r")  # fmt: skip
    print(file=sys.stderr)
    for name, sql in indexes:
        print(f"  index {name}…", file=sys.stderr)
        conn.execute(sql)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    seconds = time.perf_counter() - started
    return {
        "customers": customers,
        "interactions": interactions,
        "seconds": round(seconds, 1),
        "db_mb": round(db.stat().st_size / 1024 / 1024),
    }


def stale_sql(db: Path) -> str:
    """The exact SQL `crmcli stale --days 90 --format csv` runs, parameters filled in."""
    from crmcli.operations import reports
    from crmcli.store import open_store

    seen: list[str] = []
    store = open_store(db)
    store.conn.set_trace_callback(seen.append)
    for _ in reports.stale_report(store, reports.StaleOptions(days=90)).rows:
        break
    store.close()
    return next(s for s in seen if "INDEXED BY customers_silence" in s)


def _fmt(result: dict[str, float], floor: dict[str, float]) -> dict[str, object]:
    return {
        "median_ms": round(result["median_ms"]),
        "p90_ms": round(result["p90_ms"]),
        "x_floor": f"{result['median_ms'] / floor['median_ms']:.2f}",
        "peak_rss_mb": round(result.get("peak_rss_mb") or 0),
    }


def run(customers: int, per_customer: float, runs: int, workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / f"reports-{customers}.db"
    if not db.exists():
        # In a child process: a child's peak RSS counts its parent's memory at fork time, and
        # the loader's pool would inflate every figure below.
        print(f"building {db} …", file=sys.stderr)
        subprocess.run(
            [sys.executable, __file__, "--build-only", "--customers", str(customers),
             "--interactions", str(per_customer), "--workdir", str(workdir)],
            check=True,
        )  # fmt: skip
    env = {"CRMCLI_DB": str(db), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    os.environ.update(env)
    conn = sqlite3.connect(db)
    counts = conn.execute(
        "SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM interactions)"
    ).fetchone()
    conn.close()
    crm = [sys.executable, "-m", "crmcli"]
    sql = stale_sql(db)
    stale_rows = (
        subprocess.run(
            [*crm, "stale", "--days", "90", "--format", "csv"], capture_output=True, check=True
        ).stdout.count(b"\n")
        - 1
    )
    shell = shutil.which("sqlite3")
    floor = measure([sys.executable, str(HERE / "hello_typer.py"), "hello"], runs)
    subprocess.run([*crm, "stale", "--new-only", "--report", "bench"], capture_output=True)
    cases: list[tuple[str, list[str], tuple[int, ...]]] = [
        ("crmcli --version", [*crm, "--version"], (0,)),
        ("stale --days 90 --format csv", [*crm, "stale", "--days", "90", "--format", "csv"], (0,)),
        ("stale --new-only (2nd run, nothing new)",
         [*crm, "stale", "--new-only", "--report", "bench", "-f", "csv"], (0,)),
        ("stale --limit 50 (table)", [*crm, "stale", "--limit", "50"], (0,)),
        ("stats (table)", [*crm, "stats"], (0,)),
        ("stats --format json", [*crm, "stats", "--format", "json"], (0,)),
        ("followups --format csv", [*crm, "followups", "--format", "csv"], (0,)),
    ]  # fmt: skip
    rows: list[dict[str, object]] = [{"command": "floor: minimal Typer app", **_fmt(floor, floor)}]
    results: dict[str, dict[str, float]] = {}
    if shell:
        label = "sqlite3 shell, the same stale query"
        results[label] = measure([shell, "-csv", "-header", str(db), sql], runs)
        rows.append({"command": label, **_fmt(results[label], floor)})
    for label, cmd, expect in cases:
        results[label] = measure(cmd, runs, expect=expect)
        rows.append({"command": label, **_fmt(results[label], floor)})
    print(
        f"\n{counts[0]:,} customers, {counts[1]:,} interactions; stale --days 90 lists"
        f" {stale_rows:,} customers; {runs} runs each, medians.\n"
    )
    print_table(rows, ["command", "median_ms", "p90_ms", "x_floor", "peak_rss_mb"])
    stale_ms = results["stale --days 90 --format csv"]["median_ms"]
    if shell:
        shell_ms = results["sqlite3 shell, the same stale query"]["median_ms"]
        target = floor["median_ms"] + 2 * shell_ms
        verdict = "met" if stale_ms <= target else "MISSED"
        print(
            f"\nstale: {stale_ms:.0f} ms; target floor + 2 × shell = {floor['median_ms']:.0f}"
            f" + 2 × {shell_ms:.0f} = {target:.0f} ms: {verdict}"
        )
    stats_ms = results["stats (table)"]["median_ms"]
    print(f"stats: {stats_ms:.0f} ms; target 2000 ms: {'met' if stats_ms <= 2000 else 'MISSED'}")
    one_line = re.sub(r"\s+", " ", sql)
    print(f"\nthe stale SQL:\n{one_line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--interactions", type=float, default=10.0, help="per customer, mean")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "crmbench"
    )
    parser.add_argument("--build-only", action="store_true", help="build the database, no timing")
    args = parser.parse_args()
    if args.build_only:
        args.workdir.mkdir(parents=True, exist_ok=True)
        db = args.workdir / f"reports-{args.customers}.db"
        print(build(db, args.customers, args.interactions), file=sys.stderr)
        return
    run(args.customers, args.interactions, args.runs, args.workdir)


if __name__ == "__main__":
    main()
