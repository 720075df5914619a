"""`crmcli clean IN -o OUT`: the one-off spreadsheet cleanup, without the user's database.

The rows are read and normalised by the importer's row reader (the same rules as `import`), each
row becomes one customer in a throw-away database (a temporary directory with its own key
file, deleted afterwards: the user's database, keyring and key files are never touched), the
duplicate matcher groups them, the likely groups are merged (or each group is decided by a
callback, for `--review`), and the clean workbook gets three sheets: the customers, the merges
made (who into whom, and why), and the rows that need a person (possible duplicates, rejected
rows).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import InvalidInput

if TYPE_CHECKING:
    from crmcli.operations.dedupe import DuplicateGroup
    from crmcli.store import Store

Decider = Callable[["DuplicateGroup"], tuple[str, int | None]]


@dataclass
class CleanReport:
    source: str
    output: str
    rows: int = 0
    customers: int = 0
    rejected: int = 0
    review_groups: int = 0
    merges: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "output": self.output,
            "rows": self.rows,
            "customers": self.customers,
            "merges": self.merges,
            "review_groups": self.review_groups,
            "rejected": self.rejected,
        }


@dataclass
class _Loaded:
    zh: bool
    row_of: dict[int, int]  # customer id -> source row number
    rejected: list[tuple[int, str, str, list[object]]]  # row, column, reason, cells
    headers: list[str]
    rows: int
    columns: dict[str, int]  # field -> first source column, to show rejected rows


def _load(store: Store, path: Path, sheet_name: str | None) -> _Loaded:
    from crmcli import matching
    from crmcli.operations.import_rows import CustomerRows, Rejected
    from crmcli.sheets import map_headers, read_sheet
    from crmcli.store import bulk, bulk_load, now_utc

    sheet = read_sheet(path, sheet_name)
    header_map = map_headers(sheet.headers)
    if "name" not in header_map.fields.values():
        raise InvalidInput(f"{path.name}: no name column (expected 客户名称/姓名 or Name)")
    reader = CustomerRows(sheet.headers, header_map)
    vault = store.vault()
    batch: list[bulk.NewCustomer] = []
    row_of: dict[int, int] = {}
    rejected: list[tuple[int, str, str, list[object]]] = []
    total = 0
    next_id = 1
    for number, cells in sheet.rows:
        total += 1
        try:
            row = reader.read(number, cells)
        except Rejected as exc:
            rejected.append((number, exc.column, exc.reason, list(cells)))
            continue
        if row is None:
            continue
        if not row.fields.get("name"):
            rejected.append((number, "", "no name: a person must say who this is", list(cells)))
            continue
        fields = dict(row.fields)
        fields.setdefault("kind", "person")
        fields.setdefault("status", "lead")
        # Customer numbers stay as they were; the clean sheet shows them, duplicates included.
        batch.append(bulk.NewCustomer(next_id, fields, row.phones, row.emails, row.tags))
        row_of[next_id] = number
        next_id += 1
    with store.write(), bulk_load.deferred_upkeep(store):
        bulk.insert_customers(store, batch, vault, now_utc())
    zh = any(matching.has_cjk(h) for h in sheet.headers)
    columns: dict[str, int] = {}
    for index, name in sorted(header_map.fields.items()):
        columns.setdefault(name, index)
    return _Loaded(zh, row_of, rejected, list(sheet.headers), total, columns)


def clean(
    source: Path,
    output: Path,
    *,
    sheet: str | None = None,
    min_score: float | None = None,
    decide: Decider | None = None,
) -> CleanReport:
    """Clean `source` into `output`; see the module docstring. `decide(group)` returns
    ("merge", survivor id) or ("skip", None); without it the likely groups are merged."""
    from crmcli.operations import dedupe, merging
    from crmcli.store import open_store

    report = CleanReport(str(source), str(output))
    with tempfile.TemporaryDirectory(prefix="crmcli-clean-") as tmp:
        store = open_store(Path(tmp) / "clean.db", create=True, key_file=Path(tmp) / "clean.key")
        store.command = "clean"
        try:
            loaded = _load(store, Path(source), sheet)
            found = dedupe.find_groups(store, min_score=min_score)
            to_review: list[DuplicateGroup] = []
            merged_into: dict[int, int] = {}
            with store.write():
                for group in found.groups:
                    verdict, keep = (
                        decide(group)
                        if decide
                        else ("merge", group.survivor)
                        if group.band == "likely"
                        else ("skip", None)
                    )
                    if verdict != "merge":
                        to_review.append(group)
                        continue
                    ids = [m["id"] for m in group.members]
                    result = merging.merge_in_transaction(
                        store, ids, keep=keep, reasons=group.pairs[0]["reasons"]
                    )
                    for other, _ in result.merged:
                        merged_into[other] = result.survivor_id
                    report.merges.append(_merge_row(loaded, group, result.survivor_id))
            report.rows = loaded.rows
            report.rejected = len(loaded.rejected)
            report.review_groups = len(to_review)
            report.customers = _write(store, output, loaded, merged_into, report, to_review)
        finally:
            store.close()
    return report


def _merge_row(loaded: _Loaded, group: DuplicateGroup, survivor: int) -> dict[str, Any]:
    by_id = {m["id"]: m for m in group.members}
    kept = by_id[survivor]
    others = [m for m in group.members if m["id"] != survivor]
    return {
        "kept_row": loaded.row_of[survivor],
        "kept": _who(kept),
        "merged_rows": [loaded.row_of[m["id"]] for m in others],
        "merged": [_who(m) for m in others],
        "score": group.score,
        "reasons": [_pair_text(loaded, p) for p in group.pairs],
    }


def _pair_text(loaded: _Loaded, pair: dict[str, Any]) -> str:
    """A pair's reasons, naming the source rows (the throw-away ids mean nothing outside)."""
    a, b = sorted((loaded.row_of[pair["a"]], loaded.row_of[pair["b"]]))
    word = "行" if loaded.zh else "rows"
    return f"{word} {a}+{b} ({pair['score']:g}): " + "; ".join(pair["reasons"])


def _who(member: dict[str, Any]) -> str:
    return " ".join(str(x) for x in (member.get("external_id"), member["name"]) if x)


_REVIEW_HEADERS = {
    False: ["Why", "Group", "Score", "Row", "Customer No.", "Name", "Company", "Details"],
    True: ["原因", "组", "分数", "行号", "客户编号", "客户名称", "公司", "说明"],
}
_MERGE_HEADERS = {
    False: ["Kept row", "Kept", "Merged rows", "Merged", "Score", "Why"],
    True: ["保留行", "保留", "合并的行", "被合并", "分数", "原因"],
}


def _write(
    store: Store,
    output: Path,
    loaded: _Loaded,
    merged_into: dict[int, int],
    report: CleanReport,
    to_review: list[DuplicateGroup],
) -> int:
    from crmcli.operations.exporting import CUSTOMER_COLUMNS
    from crmcli.sheets import SheetSpec, write_xlsx
    from crmcli.store import contacts as contacts_db
    from crmcli.store import customers as customers_db

    zh = loaded.zh
    live = [i for i in loaded.row_of if i not in merged_into]
    records = customers_db.records(store, live)
    plain = contacts_db.decrypted_contacts(store, live, store.vault())
    rows_of: dict[int, list[int]] = {i: [loaded.row_of[i]] for i in live}
    for other, survivor in merged_into.items():
        rows_of[survivor].append(loaded.row_of[other])
    columns = [
        c for c in CUSTOMER_COLUMNS if c[0] not in ("id", "last_contacted_at", "archived_at")
    ]
    columns = [c for c in columns if c[0] not in ("created_at", "updated_at")]
    headers = [c[2] if zh else c[1] for c in columns] + ["来源行" if zh else "Source rows"]
    out_rows = []
    for r in records:
        r["phones"] = plain[r["id"]]["phones"]
        r["emails"] = plain[r["id"]]["emails"]
        out_rows.append(
            [_cell(c[0], r.get(c[0]), zh) for c in columns]
            + [", ".join(map(str, sorted(rows_of[r["id"]])))]
        )
    merge_rows = [
        [
            m["kept_row"],
            m["kept"],
            ", ".join(map(str, m["merged_rows"])),
            "; ".join(m["merged"]),
            m["score"],
            "\n".join(m["reasons"]),
        ]
        for m in report.merges
    ]
    review_rows: list[list[Any]] = []
    label = "可能重复" if zh else "possible duplicate"
    for g in to_review:
        for m in g.members:
            mine = [p for p in g.pairs if m["id"] in (p["a"], p["b"])]
            best = max(mine, key=lambda p: p["score"])
            review_rows.append(
                [
                    label,
                    g.number,
                    g.score,
                    loaded.row_of[m["id"]],
                    m.get("external_id"),
                    m["name"],
                    m.get("company"),
                    _pair_text(loaded, best),
                ]
            )
    reject_label = "未导入" if zh else "rejected"
    for number, column, reason, cells in loaded.rejected:
        where = f"{column}: " if column else ""
        shown = [_raw(cells, loaded.columns.get(f)) for f in ("external_id", "name", "company")]
        review_rows.append([reject_label, None, None, number, *shown, where + reason])
    text = {h for h, c in zip(headers, columns, strict=False) if c[0] in ("phones", "external_id")}
    write_xlsx(
        output,
        [
            SheetSpec("客户" if zh else "Customers", headers, out_rows, text_columns=text),
            SheetSpec("合并记录" if zh else "Merges", _MERGE_HEADERS[zh], merge_rows),
            SheetSpec("待人工处理" if zh else "Needs a person", _REVIEW_HEADERS[zh], review_rows),
        ],
    )
    return len(out_rows)


def _raw(cells: list[object], index: int | None) -> str | None:
    from crmcli.sheets import cell_text

    if index is None or index >= len(cells):
        return None
    return cell_text(cells[index])


def _cell(name: str, value: Any, zh: bool) -> Any:
    from crmcli.normalize import STATUS_LABELS_ZH

    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if zh and name == "status" and value:
        return STATUS_LABELS_ZH.get(value, value)
    if zh and name == "kind" and value:
        return {"person": "个人", "company": "企业"}.get(value, value)
    if zh and name == "gender" and value:
        return {"male": "男", "female": "女", "other": "其他"}.get(value, value)
    return value
