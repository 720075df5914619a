"""Start-up and everyday commands, whole process, next to the Typer floor.

    python benchmarks/run_core.py --sizes 10000 100000 [--runs 10] [--workdir /tmp/crmbench]

For each size it builds (or reuses) a database with `load_db.py`, then times, in one loop
with the floor (`hello_typer.py hello`, a minimal Typer app): `crmcli --version`, `search`
for a Latin fragment, a 2-character Chinese name, pinyin, the last 4 digits of a phone, a
typo'd Latin name, `show ID`, and `log ID …` (a write). Prints a Markdown table with each
median and its ratio to the floor; paste it into benchmarks/README.md.

Targets (issue #2): --version ≤ 1.2× floor; search ≤ 2× floor at 100k and ≤ 4× at 1M;
show and log ≤ 1.5× floor at 1M.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from load_db import build  # noqa: E402
from timing import measure, print_table  # noqa: E402


def pick_queries(db: Path) -> dict[str, str]:
    """Real values from the database, so every search has answers to find."""
    conn = sqlite3.connect(db)
    latin = conn.execute(
        "SELECT name FROM customers WHERE name GLOB '[A-Z]*' AND name LIKE '% %' LIMIT 1 OFFSET 7"
    ).fetchone()[0]
    chinese = conn.execute(
        "SELECT name FROM customers WHERE length(name) = 2 AND unicode(name) > 19968"
        " LIMIT 1 OFFSET 11"
    ).fetchone()[0]
    pinyin = conn.execute(
        "SELECT pinyin FROM customers WHERE pinyin IS NOT NULL LIMIT 1 OFFSET 5"
    ).fetchone()[0]
    tail4 = conn.execute("SELECT tail4 FROM phones LIMIT 1 OFFSET 3").fetchone()[0]
    some_id = conn.execute("SELECT id FROM customers LIMIT 1 OFFSET 42").fetchone()[0]
    conn.close()
    first, last = latin.split(" ", 1)
    typo = first[0] + first[2] + first[1] + first[3:] + " " + last  # a transposition
    return {
        "latin fragment": latin.split(" ")[-1][:5].lower(),
        "2-char Chinese": chinese,
        "pinyin": pinyin,
        "last 4 of a phone": tail4,
        "typo'd Latin name": typo,
        "id": str(some_id),
    }


def run(sizes: list[int], runs: int, workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    crm = [sys.executable, "-m", "crmcli"]
    rows: list[dict[str, object]] = []
    for size in sizes:
        db = workdir / f"core-{size}.db"
        if not db.exists():
            print(f"building {db} …", file=sys.stderr)
            print(build(db, size), file=sys.stderr)
        env = {
            "CRMCLI_DB": str(db),
            "CRMCLI_KEY_FILE": str(db.with_suffix(".key")),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        }
        queries = pick_queries(db)
        floor = measure([sys.executable, str(HERE / "hello_typer.py"), "hello"], runs, env)
        cases: list[tuple[str, list[str]]] = [
            ("crmcli --version", [*crm, "--version"]),
            *[
                (f"search {label} ({q})", [*crm, "search", q, "--format", "csv"])
                for label, q in queries.items()
                if label != "id"
            ],
            ("search (table output)", [*crm, "search", queries["2-char Chinese"]]),
            (f"show {queries['id']}", [*crm, "show", queries["id"]]),
            (f"log {queries['id']}", [*crm, "log", queries["id"], "benchmark call", "-c", "call"]),
        ]
        rows.append(
            {"size": f"{size:,}", "command": "floor: minimal Typer app", **_fmt(floor, floor)}
        )
        for label, cmd in cases:
            rows.append(
                {"size": f"{size:,}", "command": label, **_fmt(measure(cmd, runs, env), floor)}
            )
    print_table(rows, ["size", "command", "median_ms", "p90_ms", "x_floor", "peak_rss_mb"])


def _fmt(result: dict[str, float], floor: dict[str, float]) -> dict[str, object]:
    return {
        "median_ms": round(result["median_ms"]),
        "p90_ms": round(result["p90_ms"]),
        "x_floor": f"{result['median_ms'] / floor['median_ms']:.2f}",
        "peak_rss_mb": round(result.get("peak_rss_mb") or 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "crmbench"
    )
    args = parser.parse_args()
    run(args.sizes, args.runs, args.workdir)


if __name__ == "__main__":
    main()
