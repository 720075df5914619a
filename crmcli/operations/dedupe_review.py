"""Reviewing duplicates in Excel: `dedupe --review-file` writes the groups to a workbook with a
decision column; `dedupe --apply` reads the decisions back and carries them out.

Decisions, one per member row: `keep` (the survivor; at most one per group), `merge` (merge into
the group's keep row, or into the most complete record when there is none), `not` (not a
duplicate of the others: remembered, never proposed again), blank or `skip` (nothing). Chinese
works too: 保留, 合并, 不是, 跳过. Likely groups come pre-filled (keep/merge); possible ones blank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import InvalidInput

if TYPE_CHECKING:
    from crmcli.operations.dedupe import DedupeReport
    from crmcli.operations.merging import MergeResult
    from crmcli.store import Store

COLUMNS = (
    "group",
    "band",
    "score",
    "decision",
    "id",
    "external_id",
    "name",
    "company",
    "phones",
    "emails",
    "status",
    "city",
    "first_contact_on",
    "reasons",
)
DECISIONS = {
    "keep": "keep",
    "保留": "keep",
    "merge": "merge",
    "合并": "merge",
    "not": "not",
    "not duplicate": "not",
    "not duplicates": "not",
    "不是": "not",
    "不重复": "not",
    "skip": "skip",
    "跳过": "skip",
    "": "skip",
}
HOW_TO = [
    ["decision", "meaning"],
    ["keep", "the record that stays (one per group); 保留"],
    ["merge", "merge this record into the group's keep row; 合并"],
    ["not", "not a duplicate of the others in its group: never proposed again; 不是"],
    ["(blank) / skip", "do nothing for now; 跳过"],
    ["", "Then run: crmcli dedupe --apply THIS_FILE"],
]


def write_review_file(path: Path, report: DedupeReport) -> None:
    from crmcli.sheets import SheetSpec, write_xlsx

    rows: list[list[Any]] = []
    for g in report.groups:
        for m in g.members:
            mine = [p for p in g.pairs if m["id"] in (p["a"], p["b"])]
            best = max(mine, key=lambda p: p["score"])
            other = best["b"] if best["a"] == m["id"] else best["a"]
            decision = ""
            if g.band == "likely":
                decision = "keep" if m["id"] == g.survivor else "merge"
            rows.append(
                [
                    g.number,
                    g.band,
                    g.score,
                    decision,
                    m["id"],
                    m.get("external_id"),
                    m["name"],
                    m.get("company"),
                    m.get("phones"),
                    m.get("emails"),
                    m.get("status"),
                    m.get("city"),
                    m.get("first_contact_on"),
                    f"~#{other} {best['score']:g}: " + "; ".join(best["reasons"]),
                ]
            )
    write_xlsx(
        path,
        [
            SheetSpec(
                "Duplicates",
                list(COLUMNS),
                rows,
                text_columns={"external_id", "phones", "emails"},
                date_columns={"first_contact_on"},
            ),
            SheetSpec("How to", HOW_TO[0], HOW_TO[1:]),
        ],
    )


@dataclass
class ReviewPlan:
    merges: list[tuple[list[int], int | None, int]] = field(
        default_factory=list
    )  # ids, keep, group
    not_duplicates: list[tuple[list[int], list[int]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_review_file(path: Path) -> ReviewPlan:
    """The decisions in a review workbook, grouped; bad rows become problems, not failures."""
    from crmcli.sheets import cell_text, read_sheet

    sheet = read_sheet(path, "Duplicates" if path.suffix.lower() != ".csv" else None)
    headers = [h.strip().lower() for h in sheet.headers]
    missing = [c for c in ("group", "decision", "id") if c not in headers]
    if missing:
        raise InvalidInput(
            f"{path.name}: not a review workbook (no {', '.join(missing)} column);"
            " make one with `crmcli dedupe --review-file`"
        )
    col = {name: headers.index(name) for name in ("group", "decision", "id")}
    groups: dict[int, dict[str, list[int]]] = {}
    plan = ReviewPlan()
    for number, cells in sheet.rows:
        raw_group = cell_text(cells[col["group"]]) or ""
        raw_id = cell_text(cells[col["id"]]) or ""
        raw_decision = (cell_text(cells[col["decision"]]) or "").strip().lower()
        decision = DECISIONS.get(raw_decision)
        if decision is None:
            plan.problems.append(
                f"row {number}: unknown decision {raw_decision!r} (use keep, merge, not or blank)"
            )
            continue
        try:
            group, customer = int(float(raw_group)), int(float(raw_id))
        except ValueError:
            plan.problems.append(f"row {number}: group and id must be numbers")
            continue
        groups.setdefault(group, {}).setdefault(decision, []).append(customer)
    for number, d in sorted(groups.items()):
        keep, merge, refused = d.get("keep", []), d.get("merge", []), d.get("not", [])
        if len(keep) > 1:
            plan.problems.append(f"group {number}: more than one keep row; group skipped")
            continue
        if merge:
            plan.merges.append((keep + merge, keep[0] if keep else None, number))
        elif keep and not refused:
            pass  # a keep alone merges nothing
        if refused:
            everyone = [i for ids in d.values() for i in ids]
            plan.not_duplicates.append((refused, everyone))
    return plan


@dataclass
class ApplyResult:
    merges: list[MergeResult]
    not_duplicate_pairs: int
    backup: str | None
    problems: list[str]


def apply_review(store: Store, plan: ReviewPlan) -> ApplyResult:
    """Carry out a review plan in one transaction (an automatic backup first when merging)."""
    from crmcli.errors import CrmError
    from crmcli.operations.merging import merge_in_transaction
    from crmcli.store import journal
    from crmcli.store import merges as merges_db

    backup = None
    if plan.merges:
        from crmcli.store.backup import auto_backup

        backup = str(auto_backup(store, "dedupe-apply"))
    results: list[MergeResult] = []
    problems: list[str] = []
    pairs = 0
    with store.write():
        for ids, keep, number in plan.merges:
            try:
                results.append(
                    merge_in_transaction(store, ids, keep=keep, reasons=["decided in review file"])
                )
            except CrmError as exc:
                problems.append(f"group {number}: {exc.message}")
        for refused, everyone in plan.not_duplicates:
            these = {(a, b) for a in refused for b in everyone if a != b}
            pairs += merges_db.add_not_duplicates(store, these)
        if pairs:
            journal.record(store, "not-duplicates", details={"pairs": pairs})
    return ApplyResult(results, pairs, backup, problems)
