"""Import and export speed: `crmcli import` / `crmcli export` against the floor and the pandas peer.

    .venv/bin/python benchmarks/run_import.py --rows 10000 --rows 100000 [--rows 1000000]

For each size it generates a workbook with `generate.py` (12 columns, title row, messy cells;
kept in --workdir and reused), then measures, as whole processes (wall time; CPU time and peak
RSS from the kernel's per-child rusage; the peak of the process tree's summed RSS sampled from
/proc, which counts pages a forked worker shares with its parent twice; see timing.py), side
by side in one run:

- `crmcli import` into an empty database (validating and normalising every row, encrypting
  contacts, building the search index), in one process (`--no-parallel`) and as a user gets
  it (rows prepared by a second process on a machine with two or more cores);
- the floor: reading the same workbook with python-calamine and nothing else;
- the pandas peer: `pandas.read_excel(...).to_sql(...)` (no validation at all);
- `crmcli export` of the imported customers to .xlsx, against `pandas.read_sql(...)` +
  `DataFrame.to_excel(...)` of the same table.

pandas is never a crmcli dependency. It is installed for this script only, into its own
directory (--pandas-dir, default /tmp/crmcli-bench-pandas) with `pip install --target`, and put
on PYTHONPATH of the peer processes alone: installed into the project venv it would make
sqlite-utils and openpyxl import numpy in every crmcli process (+50-60 ms, FINDINGS.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from timing import print_table, run_tree  # noqa: E402

ROOT = HERE.parent
CRMCLI = [sys.executable, "-m", "crmcli"]

FLOOR = """
import sys, python_calamine
wb = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
n = sum(1 for _ in wb.get_sheet_by_index(0).iter_rows())
print(n)
"""
PANDAS_IMPORT = """
import sqlite3, sys, pandas
df = pandas.read_excel(sys.argv[1], header=1 if sys.argv[3] == "title" else 0)
with sqlite3.connect(sys.argv[2]) as conn:
    df.to_sql("customers", conn, index=False)
"""
PANDAS_EXPORT = """
import sqlite3, sys, pandas
with sqlite3.connect(sys.argv[1]) as conn:
    df = pandas.read_sql("SELECT * FROM customers", conn)
df.to_excel(sys.argv[2], index=False)
"""


def ensure_pandas(target: Path) -> bool:
    probe = [sys.executable, "-c", "import pandas"]
    env = {**os.environ, "PYTHONPATH": str(target)}
    if subprocess.run(probe, env=env, capture_output=True).returncode == 0:
        return True
    print(f"installing pandas into {target} (benchmark only) ...", file=sys.stderr)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), "pandas"],
        capture_output=True,
    )
    return done.returncode == 0


def workbook(workdir: Path, rows: int) -> Path:
    out = workdir / f"gen{rows}"
    path = out / "customers.xlsx"
    if not path.exists():
        print(f"generating {rows} rows ...", file=sys.stderr)
        generator = [sys.executable, str(HERE / "generate.py"), "--customers", str(rows)]
        options = ["--seed", "1", "--out", str(out), "--format", "xlsx", "--title-row"]
        subprocess.run([*generator, *options], check=True, stdout=subprocess.DEVNULL)
    return path


def run(label: str, what: str, cmd: list[str], env: dict[str, str]) -> dict:
    found = run_tree(cmd, env, str(ROOT))
    if found["code"] != 0:
        print(f"warning: {what} exited {found['code']}", file=sys.stderr)
    return {
        "rows": label,
        "what": what,
        "s": round(found["s"], 2),
        "cpu_s": round(found["cpu_s"], 1),
        "peak_rss_mb": found["peak_rss_mb"],
        "tree_rss_mb": found["tree_rss_mb"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="repeatable; default 10000")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/crmcli-bench-import"))
    parser.add_argument("--pandas-dir", type=Path, default=Path("/tmp/crmcli-bench-pandas"))
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--no-export", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    with_pandas = not args.no_pandas and ensure_pandas(args.pandas_dir)
    rows_out: list[dict] = []
    for rows in args.rows or [10_000]:
        book = workbook(args.workdir, rows)
        label = f"{rows:,}"
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            env = {
                **os.environ,
                "CRMCLI_DB": f"{tmp}/crm.db",
                "CRMCLI_KEY_FILE": f"{tmp}/crm.key",
                "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            }
            peer_env = {**env, "PYTHONPATH": str(args.pandas_dir)}
            rows_out.append(
                run(label, "floor: calamine read", [sys.executable, "-c", FLOOR, str(book)], env)
            )
            one = [*CRMCLI, "import", "--no-parallel", str(book)]
            rows_out.append(run(label, "crmcli import --no-parallel", one, env))
            for name in ("crm.db", "crm.db-wal", "crm.db-shm", "crm.key"):  # empty again
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{tmp}/{name}")
            rows_out.append(run(label, "crmcli import", [*CRMCLI, "import", str(book)], env))
            if with_pandas:
                cmd = [sys.executable, "-c", PANDAS_IMPORT, str(book), f"{tmp}/pd.db", "title"]
                rows_out.append(run(label, "pandas read_excel + to_sql", cmd, peer_env))
            if not args.no_export:
                out = f"{tmp}/out.xlsx"
                rows_out.append(run(label, "crmcli export .xlsx", [*CRMCLI, "export", out], env))
                if with_pandas:
                    cmd = [sys.executable, "-c", PANDAS_EXPORT, f"{tmp}/crm.db", f"{tmp}/pd.xlsx"]
                    rows_out.append(run(label, "pandas read_sql + to_excel", cmd, peer_env))
        floor = next(
            r["s"] for r in rows_out if r["rows"] == label and r["what"].startswith("floor")
        )
        for row in rows_out:
            if row["rows"] == label:
                row["x_floor"] = round(row["s"] / floor, 1) if floor else None
    print_table(rows_out, ["rows", "what", "s", "x_floor", "cpu_s", "peak_rss_mb", "tree_rss_mb"])


if __name__ == "__main__":
    main()
