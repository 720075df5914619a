"""`crmcli dedupe` quality and speed against the generator's truth, with splink side by side.

    .venv/bin/python benchmarks/run_dedupe.py --customers 10000 [--seed 1] [--splink]

Builds a database with `load_db.build` (the same store code as `crmcli add`: match keys are
written as rows are), runs `crmcli dedupe --format jsonl` as a whole process (time and peak
RSS from the kernel), and scores its groups against `entity_id`: pairwise precision, recall
and F1 for the "likely" band and for both bands together, and cluster purity (the share of
grouped records that belong to their group's majority entity).

`--splink` runs splink 5 (DuckDB) on the same records and the same normalised fields (name
key, pinyin, company key, first phone as E.164, first e-mail), trained by EM and clustered at
0.95, in the same run: splink is a benchmark-only extra (`.venv/bin/pip install splink`;
it needs no pandas), never a dependency of crmcli.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

FIELDS = (
    "external_id", "kind", "name", "company", "phones", "emails", "status", "grade",
    "source", "industry", "city", "gender", "budget", "needs", "tags", "notes",
    "first_contact_on", "next_follow_up_on",
)  # fmt: skip


def build(db: Path, customers: int, seed: int) -> dict[str, float]:
    """A database through the import's bulk path (store.bulk), then every customer's match
    keys (what the per-row hook writes), timed apart: `load_db.build` goes row by row through
    `crmcli add`'s path (~200 rows/s), too slow for 100k+."""
    os.environ["CRMCLI_KEY_FILE"] = str(db.with_suffix(".key"))
    from crmcli.errors import InvalidInput
    from crmcli.models import build_draft
    from crmcli.store import bulk, match_keys, now_utc, open_store

    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.with_suffix(".key").unlink(missing_ok=True)
    store = open_store(db, create=True)
    store.create_key()
    vault = store.vault()
    started = time.perf_counter()
    batch: list[bulk.NewCustomer] = []
    next_id = 1
    with store.write():
        for record in generate(customers, seed=seed):
            try:
                draft = build_draft(
                    {k: record[k] for k in FIELDS if record.get(k) not in (None, [])}
                )
            except InvalidInput:
                continue
            fields = draft.fields()
            fields["kind"] = fields.get("kind") or "person"
            fields["status"] = fields.get("status") or "lead"
            batch.append(bulk.NewCustomer(next_id, fields, draft.phones, draft.emails, draft.tags))
            next_id += 1
            if len(batch) >= 5000:
                bulk.insert_customers(store, batch, vault, now_utc())
                batch.clear()
        bulk.insert_customers(store, batch, vault, now_utc())
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with store.write():
        match_keys.refresh(store, list(range(1, next_id)))
        match_keys.mark_current(store)
    keyed = time.perf_counter() - started
    rows = store.scalar("SELECT COUNT(*) FROM match_keys")
    store.close()
    return {"customers": next_id - 1, "load_s": round(loaded, 1), "keys_s": round(keyed, 1),
            "match_key_rows": rows}  # fmt: skip


Pair = tuple[str, str]


def true_pairs(entity_of: dict[str, str]) -> set[Pair]:
    by_entity: dict[str, list[str]] = {}
    for ext, entity in entity_of.items():
        by_entity.setdefault(entity, []).append(ext)
    return {
        (a, b) if a < b else (b, a)
        for members in by_entity.values()
        for a, b in itertools.combinations(members, 2)
    }


def group_pairs(groups: Iterable[list[str]]) -> set[Pair]:
    return {(a, b) if a < b else (b, a) for g in groups for a, b in itertools.combinations(g, 2)}


def scores(predicted: set[Pair], truth: set[Pair]) -> dict[str, float]:
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "pairs": len(predicted),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def purity(groups: list[list[str]], entity_of: dict[str, str]) -> float:
    grouped = sum(len(g) for g in groups)
    majority = sum(Counter(entity_of[m] for m in g).most_common(1)[0][1] for g in groups)
    return round(majority / grouped, 4) if grouped else 1.0


# Runs a command and writes its exit code and rusage as JSON to the file named first. Why not
# wait4 on crmcli directly: a child started by this (big) process inherits its peak RSS, which
# Linux keeps across exec (with the truth of 1M records in memory here, `ru_maxrss` would
# report this process, not crmcli); a child of this small launcher inherits only the launcher's.
LAUNCHER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as report:
    json.dump({"code": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss,
               "cpu": usage.ru_utime + usage.ru_stime}, report)
"""


def run_crmcli(
    db: Path, env: dict[str, str]
) -> tuple[dict[str, list[list[str]]], float, float, float]:
    """Groups by band (lists of external ids), wall seconds, peak RSS MB, CPU seconds (user +
    system: on a loaded machine the wall time says more about the neighbours)."""
    command = [sys.executable, "-m", "crmcli", "dedupe", "--db", str(db), "--format", "jsonl"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryDirectory() as work:
        report = Path(work) / "usage.json"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(report), *command],
            stdin=subprocess.DEVNULL,
            stdout=out,
            env=env,
            check=True,
        )
        seconds = time.perf_counter() - started
        usage = json.loads(report.read_text())
        if usage["code"] != 0:
            raise SystemExit("crmcli dedupe failed")
        out.seek(0)
        groups: dict[int, tuple[str, list[str]]] = {}
        for line in out:
            row = json.loads(line)
            groups.setdefault(row["group"], (row["band"], []))[1].append(row["external_id"])
    by_band: dict[str, list[list[str]]] = {"likely": [], "possible": []}
    for band, members in groups.values():
        by_band[band].append(members)
    return by_band, seconds, usage["maxrss_kb"] / 1024, usage["cpu"]


def run_splink(records: list[dict]) -> tuple[list[list[str]], float]:
    import logging

    import pyarrow as pa
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)

    from crmcli import matching
    from crmcli.errors import InvalidInput
    from crmcli.normalize import normalize_email
    from crmcli.phone_numbers import parse_phone

    started = time.perf_counter()
    rows = []
    for r in records:
        phone = None
        for text in r["phones"]:
            try:
                phone = parse_phone(text).e164
                break
            except InvalidInput:
                continue
        email = None
        if r["emails"]:
            try:
                email = normalize_email(r["emails"][0])
            except InvalidInput:
                email = None
        pinyin = matching.pinyin_of(r["name"])
        key = matching.name_key(r["name"])
        rows.append(
            {
                "unique_id": r["external_id"],
                "name": key or None,
                "pinyin": pinyin[0] if pinyin else key.replace(" ", "") or None,
                "company": matching.company_key(r["company"]) if r["company"] else None,
                "phone": phone,
                "email": email,
            }
        )
    db_api = DuckDBAPI()
    df = db_api.register(pa.Table.from_pylist(rows), dataset_display_name="customers")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.92, 0.8]),
            cl.ExactMatch("pinyin"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("email"),
            cl.JaroWinklerAtThresholds("company", [0.9]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("email"),
            block_on("name"),
            block_on("pinyin"),
        ],
    )
    linker = Linker(df, settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("phone", "pinyin")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("pinyin"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.95)
    groups: dict[str, list[str]] = {}
    for row in clusters.as_record_list():
        groups.setdefault(str(row["cluster_id"]), []).append(row["unique_id"])
    return [g for g in groups.values() if len(g) > 1], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, help="reuse (or build) this database")
    parser.add_argument("--splink", action="store_true", help="run splink side by side")
    args = parser.parse_args()
    db = args.db or Path(tempfile.gettempdir()) / f"crm-dedupe-{args.customers}-{args.seed}.db"
    key = db.with_suffix(".key")
    if not db.exists():
        print(f"building {db} …", file=sys.stderr)
        print(build(db, args.customers, args.seed), file=sys.stderr)
    # The records themselves only for splink (1M of them hold several GB).
    records = list(generate(args.customers, seed=args.seed)) if args.splink else []
    entity_of = {
        r["external_id"]: r["entity_id"]
        for r in (records or generate(args.customers, seed=args.seed))
    }
    truth = true_pairs(entity_of)
    env = {
        **os.environ,
        "CRMCLI_KEY_FILE": str(key),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    load_before = os.getloadavg()[0]
    by_band, seconds, rss, cpu = run_crmcli(db, env)
    load_after = os.getloadavg()[0]
    likely = group_pairs(by_band["likely"])
    both = likely | group_pairs(by_band["possible"])
    all_groups = by_band["likely"] + by_band["possible"]
    result = {
        "customers": args.customers,
        "true_pairs": len(truth),
        "crmcli_seconds": round(seconds, 2),
        "crmcli_cpu_seconds": round(cpu, 2),
        "crmcli_peak_rss_mb": round(rss),
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],  # shared machine
        "likely": scores(likely, truth),
        "possible_only": scores(both - likely, truth),
        "both_bands": scores(both, truth),
        "purity": purity(all_groups, entity_of),
        "groups": {"likely": len(by_band["likely"]), "possible": len(by_band["possible"])},
    }
    if args.splink:
        groups, splink_seconds = run_splink(records)
        result["splink"] = {
            **scores(group_pairs(groups), truth),
            "purity": purity(groups, entity_of),
            "seconds": round(splink_seconds, 2),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
