"""Exporting customers (`crmcli export FILE`): a clean workbook, a CSV, or JSON / JSON Lines.

The format follows the file's extension. A workbook has a Customers sheet and an Interactions
sheet with headers a person reads (English, or Chinese with `labels="zh"`, status and the other
enumerations translated too); CSV holds the customers only; JSON and JSON Lines carry the
record's own field names (DESIGN.md) with each customer's interactions nested. Contact details
are the masked copies unless `reveal`, which needs the key and is written to the audit trail.

Every header is one the importer maps back to its field, and the export's own columns (the
crmcli id, timestamps) are ones it ignores, so export -> import restores the customers and their
timelines; the Interactions sheet names its customer by the crmcli id of the Customers sheet,
which ties the two together even when names repeat and customer numbers are missing.
Rows are streamed a chunk at a time: a 1M-customer export never holds them all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from crmcli.errors import InputFileError, UsageError
from crmcli.normalize import STATUS_LABELS_ZH
from crmcli.store import bulk, journal
from crmcli.store import contacts as contacts_db
from crmcli.store import customers as customers_db
from crmcli.store import search as search_db

if TYPE_CHECKING:
    from crmcli.store import Store
    from crmcli.store.search import Filters

FORMATS = {".xlsx": "xlsx", ".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
CHUNK = 1000

# (field, English header, Chinese header); the importer maps every one of these back.
CUSTOMER_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("id", "crmcli ID", "系统ID"),
    ("external_id", "Customer No.", "客户编号"),
    ("kind", "Kind", "客户类型"),
    ("name", "Name", "客户名称"),
    ("company", "Company", "公司"),
    ("phones", "Phones", "电话"),
    ("emails", "Emails", "邮箱"),
    ("status", "Status", "客户状态"),
    ("grade", "Grade", "客户等级"),
    ("source", "Source", "客户来源"),
    ("industry", "Industry", "行业"),
    ("city", "City", "城市"),
    ("gender", "Gender", "性别"),
    ("budget", "Budget", "预算"),
    ("needs", "Needs", "需求"),
    ("tags", "Tags", "标签"),
    ("notes", "Notes", "备注"),
    ("first_contact_on", "First contact", "首次接触时间"),
    ("last_contacted_at", "Last contacted (UTC)", "最后联系时间（UTC）"),
    ("next_follow_up_on", "Next follow-up", "下次跟进日期"),
    ("archived_at", "Archived at", "归档时间"),
    ("created_at", "Created (UTC)", "录入时间（UTC）"),
    ("updated_at", "Updated (UTC)", "更新时间（UTC）"),
)
INTERACTION_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("customer_id", "crmcli ID", "系统ID"),
    ("external_id", "Customer No.", "客户编号"),
    ("customer", "Customer", "客户名称"),
    ("at", "At (UTC)", "跟进时间（UTC）"),
    ("channel", "Channel", "跟进方式"),
    ("summary", "Summary", "跟进内容"),
    ("outcome", "Outcome", "跟进结果"),
    ("next_follow_up_on", "Next follow-up", "下次跟进"),
)
_DATE_FIELDS = {"first_contact_on", "next_follow_up_on"}
_MOMENT_FIELDS = {"last_contacted_at", "archived_at", "created_at", "updated_at", "at"}
_TEXT_FIELDS = {"external_id", "phones", "emails", "name", "company", "notes", "summary", "budget"}
_ZH = {
    "status": STATUS_LABELS_ZH,
    "kind": {"person": "个人", "company": "企业"},
    "gender": {"male": "男", "female": "女", "other": "其他"},
    "channel": {
        "call": "电话",
        "email": "邮件",
        "meeting": "会议",
        "message": "消息",
        "visit": "拜访",
        "note": "备注",
    },
}


@dataclass
class ExportResult:
    file: str
    format: str
    customers: int = 0
    interactions: int = 0
    revealed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "customers": self.customers,
            "interactions": self.interactions,
            "revealed": self.revealed,
        }


def format_of(path: Path) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise UsageError(
            f"cannot tell the export format from {Path(path).name!r};"
            " name the file .xlsx, .csv, .json or .jsonl"
        )
    return fmt


def select(store: Store, filters: Filters, query: str | None = None) -> list[int]:
    """The ids to export: the same filters (and query) as `search`, in id order."""
    if query:
        from crmcli.operations.search import search

        return sorted(r["id"] for r in search(store, query, filters, None))
    return search_db.list_ids(store, filters, None)


def _moment(value: str | None) -> dt.datetime | None:
    """A stored UTC time as the naive UTC datetime a spreadsheet cell holds."""
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


def _records(
    store: Store, ids: Sequence[int], reveal: bool, advance: Callable[[int], None]
) -> Iterator[dict]:
    vault = store.vault() if reveal else None
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        records = customers_db.records(store, chunk)
        if vault is not None:
            plain = contacts_db.decrypted_contacts(store, chunk, vault)
            for record in records:
                record["phones"] = plain[record["id"]]["phones"]
                record["emails"] = plain[record["id"]]["emails"]
        yield from records
        advance(len(chunk))


def _cell(field: str, value: Any, zh: bool) -> Any:
    if value is None or value == []:
        return None
    if field in _DATE_FIELDS:
        return dt.date.fromisoformat(value)
    if field in _MOMENT_FIELDS:
        return _moment(value)
    if field == "tags":
        return ", ".join(value)  # the importer splits tags on commas (phones/emails on ;)
    if zh and field in _ZH:
        return _ZH[field].get(value, value)
    return value


def export(
    store: Store,
    path: Path,
    ids: Sequence[int],
    *,
    reveal: bool = False,
    labels: str = "en",
    filters: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write the customers `ids` (and their interactions) to `path`; audited."""
    path = Path(path)
    fmt = format_of(path)
    if labels not in ("en", "zh"):
        raise UsageError(f"--labels {labels}: use en or zh")
    if reveal:
        store.vault()  # fail now (exit 77/78) rather than after a half-written file
    advance = progress or (lambda n: None)
    result = ExportResult(str(path), fmt, revealed=reveal)
    try:
        if fmt == "xlsx":
            _write_workbook(store, path, ids, reveal, labels == "zh", result, advance)
        elif fmt == "csv":
            _write_csv(store, path, ids, reveal, labels == "zh", result, advance)
        else:
            _write_json(store, path, ids, reveal, fmt, result, advance)
    except OSError as exc:
        raise InputFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    with store.write():
        details: dict[str, Any] = {
            "file": path.name,
            "format": fmt,
            "customers": result.customers,
            "interactions": result.interactions,
            "reveal": reveal,
        }
        if filters:
            details["filters"] = filters
        journal.record(store, "export", details=details)
    return result


def _customer_rows(
    store: Store,
    ids: Sequence[int],
    reveal: bool,
    zh: bool,
    result: ExportResult,
    advance: Callable[[int], None],
) -> Iterator[list[Any]]:
    fields = [c[0] for c in CUSTOMER_COLUMNS]
    for record in _records(store, ids, reveal, advance):
        result.customers += 1
        yield [_cell(f, record.get(f), zh) for f in fields]


def _interaction_rows(
    store: Store, ids: Sequence[int], zh: bool, result: ExportResult
) -> Iterator[list[Any]]:
    names: dict[int, tuple[str | None, str]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        names = {r["id"]: (r["external_id"], r["name"]) for r in bulk.customer_rows(store, chunk)}
        for row in bulk.interaction_rows(store, chunk):
            result.interactions += 1
            external_id, name = names[row["customer_id"]]
            values = {
                **dict(row),
                "external_id": external_id,
                "customer": name,
            }
            yield [_cell(f, values.get(f), zh) for f, _, _ in INTERACTION_COLUMNS]


def _headers(columns: Sequence[tuple[str, str, str]], zh: bool) -> list[str]:
    return [c[2] if zh else c[1] for c in columns]


def _typed(columns: Sequence[tuple[str, str, str]], zh: bool, fields: set[str]) -> set[str]:
    return {(c[2] if zh else c[1]) for c in columns if c[0] in fields}


def _write_workbook(
    store: Store,
    path: Path,
    ids: Sequence[int],
    reveal: bool,
    zh: bool,
    result: ExportResult,
    advance: Callable[[int], None],
) -> None:
    from crmcli.sheets import SheetSpec, write_xlsx

    dates = _DATE_FIELDS | _MOMENT_FIELDS
    customers = SheetSpec(
        "客户" if zh else "Customers",
        _headers(CUSTOMER_COLUMNS, zh),
        _customer_rows(store, ids, reveal, zh, result, advance),
        text_columns=_typed(CUSTOMER_COLUMNS, zh, _TEXT_FIELDS),
        date_columns=_typed(CUSTOMER_COLUMNS, zh, dates),
    )
    interactions = SheetSpec(
        "跟进记录" if zh else "Interactions",
        _headers(INTERACTION_COLUMNS, zh),
        _interaction_rows(store, ids, zh, result),
        text_columns=_typed(INTERACTION_COLUMNS, zh, _TEXT_FIELDS | {"customer"}),
        date_columns=_typed(INTERACTION_COLUMNS, zh, dates),
    )
    write_xlsx(path, [customers, interactions])


def _write_csv(
    store: Store,
    path: Path,
    ids: Sequence[int],
    reveal: bool,
    zh: bool,
    result: ExportResult,
    advance: Callable[[int], None],
) -> None:
    from crmcli.sheets import write_csv

    write_csv(
        path,
        _headers(CUSTOMER_COLUMNS, zh),
        _customer_rows(store, ids, reveal, zh, result, advance),
    )


def _write_json(
    store: Store,
    path: Path,
    ids: Sequence[int],
    reveal: bool,
    fmt: str,
    result: ExportResult,
    advance: Callable[[int], None],
) -> None:
    from crmcli.fields import RECORD_FIELDS

    interaction_fields = ("at", "channel", "summary", "outcome", "next_follow_up_on")

    def write(fh: IO[str]) -> None:
        count = 0
        records = _records(store, ids, reveal, advance)
        if fmt == "json":
            fh.write("[")
        while batch := [r for _, r in zip(range(CHUNK), records, strict=False)]:
            timelines: dict[int, list[dict]] = {r["id"]: [] for r in batch}
            for row in bulk.interaction_rows(store, [r["id"] for r in batch]):
                timelines[row["customer_id"]].append({f: row[f] for f in interaction_fields})
            for record in batch:
                timeline = timelines[record["id"]]
                out: dict[str, Any] = {f: record.get(f) for f in RECORD_FIELDS}
                out["interactions"] = timeline
                result.interactions += len(timeline)
                if fmt == "json":
                    text = json.dumps(out, ensure_ascii=False, indent=2).replace("\n", "\n  ")
                    fh.write(("\n  " if count == 0 else ",\n  ") + text)
                else:
                    fh.write(json.dumps(out, ensure_ascii=False) + "\n")
                count += 1
        result.customers = count
        if fmt == "json":
            fh.write("\n]\n" if count else "]\n")

    _write_text_atomically(path, write)


def _write_text_atomically(path: Path, write: Callable[[IO[str]], None]) -> None:
    """Write beside `path`, then rename over it: an interrupted export leaves no half file."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            write(fh)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; an export gets the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
