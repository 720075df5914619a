"""Reports for the salesperson and for nightly scripts: the stale report (with its `--new-only`
state and `--archive`), the overview behind `stats`, and the follow-up calendar.

The stale report streams: at a million customers it is hundreds of thousands of rows, so rows
stay tuples from the cursor to the writer and are never gathered into dicts unless a person is
going to read them as a table. Nothing here needs the contact-encryption key.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import CrmError, InvalidInput
from crmcli.store import reports as reports_db

if TYPE_CHECKING:
    from crmcli.store import Store
    from crmcli.store.search import Filters

ACTIVE_STATUSES = ("lead", "prospect", "customer")
FUNNEL = ("lead", "prospect", "customer")
STALE_FIELDS = reports_db.STALE_COLUMNS
# Headers for the workbook a person opens from a mail; CSV keeps the stable field names.
STALE_HEADERS = {
    "id": "ID",
    "external_id": "Customer no.",
    "name": "Name",
    "company": "Company",
    "phones": "Phones",
    "status": "Status",
    "grade": "Grade",
    "source": "Source",
    "city": "City",
    "tags": "Tags",
    "days_silent": "Days silent",
    "silent_since": "Silent since",
    "last_contacted_at": "Last contact (UTC)",
    "last_channel": "Last channel",
    "first_contact_on": "First contact",
    "next_follow_up_on": "Next follow-up",
    "archived_at": "Archived (UTC)",
}
JOINED = "; "  # how list fields read in CSV/TSV/tables, as in every other listing
_SPLIT = "\x1f"  # the store's separator when lists must come back as lists (cannot be in text)
_REPORT_NAME = re.compile(r"[\w.-]{1,64}")


@dataclass
class StaleOptions:
    """Who the stale report covers. Lost and archived customers are left out unless asked."""

    days: int = 90
    statuses: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    grades: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    include_lost: bool = False
    include_archived: bool = False
    limit: int | None = None

    def filters(self) -> Filters:
        from crmcli.store.search import Filters

        statuses = list(self.statuses)
        if not statuses and not self.include_lost:
            statuses = list(ACTIVE_STATUSES)
        return Filters(
            statuses=statuses,
            tags=list(self.tags),
            grades=list(self.grades),
            sources=list(self.sources),
            archived=None if self.include_archived else False,
        )

    def fingerprint(self) -> str:
        """What decides the report's set (not the limit): compared between `--new-only` runs."""
        return json.dumps(
            {
                "days": self.days,
                "statuses": sorted(self.statuses),
                "tags": sorted(self.tags),
                "grades": sorted(self.grades),
                "sources": sorted(self.sources),
                "include_lost": self.include_lost,
                "include_archived": self.include_archived,
            },
            sort_keys=True,
        )


def stale_cutoff(days: int, today: date) -> str:
    """Silent since before this ISO date = silent for more than `days` days on `today`."""
    return (today - timedelta(days=days)).isoformat()


@dataclass
class StaleReport:
    """A stale report being read. Iterate `rows` once (inside the store's lifetime); `ids`
    fills up as it goes, so `count` and `ids` are complete once the rows are consumed."""

    fields: tuple[str, ...]
    days: int
    cutoff: str
    today: date
    rows: Iterator[tuple[Any, ...]]
    report: str | None = None
    new_count: int | None = None  # with --new-only: how many joined the stale set this run
    previous_options: str | None = None  # set when the named report last ran with other options
    ids: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.ids)


def check_report_name(name: str) -> str:
    if not _REPORT_NAME.fullmatch(name):
        raise InvalidInput(
            f"report name {name!r}: use 1-64 letters, digits, '.', '-' or '_' (e.g. nightly)"
        )
    return name


def stale_report(
    store: Store,
    options: StaleOptions,
    *,
    report: str | None = None,
    lists: str = "joined",
    today: date | None = None,
) -> StaleReport:
    """Customers with no interaction for more than `options.days` days, longest silent first.

    With `report`, only the customers that became stale since that named report's previous run
    are listed, and the current stale set is recorded as its new state (one BEGIN IMMEDIATE
    transaction, before anything is printed: a run that cannot get the write lock fails with
    exit 75 and prints nothing). `lists="joined"` gives phones and tags as `"a; b"` text (CSV,
    tables, sheets), `lists="split"` as lists (JSON).
    """
    today = today or date.today()
    cutoff = stale_cutoff(options.days, today)
    filters = options.filters()
    result = StaleReport(STALE_FIELDS, options.days, cutoff, today, iter(()))
    reports_db.map_for_long_reads(store)
    if report is not None:
        result.report = check_report_name(report)
        key = f"report_options:{report}"
        fingerprint = options.fingerprint()
        with store.write():
            before = store.meta(key)
            if before is not None and before != fingerprint:
                result.previous_options = before
            result.new_count = reports_db.refresh_report_state(store, report, cutoff, filters)
            store.set_meta(key, fingerprint)
    split = lists == "split"
    rows = reports_db.stale_rows(
        store,
        cutoff,
        today.isoformat(),
        filters,
        list_separator=_SPLIT if split else JOINED,
        limit=options.limit,
        only_new=report is not None,
    )
    result.rows = _collect(rows, result.ids, split)
    return result


def _collect(
    rows: Iterator[tuple[Any, ...]], ids: list[int], split: bool
) -> Iterator[tuple[Any, ...]]:
    phones_at = STALE_FIELDS.index("phones")
    tags_at = STALE_FIELDS.index("tags")
    append = ids.append
    if not split:
        for row in rows:
            append(row[0])
            yield row
        return
    for row in rows:
        append(row[0])
        out = list(row)
        out[phones_at] = row[phones_at].split(_SPLIT) if row[phones_at] else []
        out[tags_at] = row[tags_at].split(_SPLIT) if row[tags_at] else []
        yield tuple(out)


def check_output_path(path: Path) -> Path:
    """Refuse an `--output` the report could not write, before any work (or state) is done."""
    from crmcli.errors import UsageError

    path = Path(path).expanduser()
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise UsageError(f"--output {path}: write a .xlsx or a .csv file")
    if path.is_dir():
        raise UsageError(f"--output {path} is a directory; name the file to write")
    if not path.parent.is_dir():
        raise UsageError(f"--output {path}: directory {path.parent} does not exist")
    return path


def write_stale_file(report: StaleReport, path: Path) -> None:
    """Write the report as a formatted workbook (.xlsx, headers for people) or a CSV that Excel
    opens (.csv: UTF-8 with BOM, the stable field names), atomically. Lists must be joined."""
    from crmcli import sheets

    path = check_output_path(path)
    if path.suffix.lower() == ".csv":
        sheets.write_csv(path, list(report.fields), report.rows)
        return
    dates = ("silent_since", "last_contacted_at", "first_contact_on", "next_follow_up_on")
    spec = sheets.SheetSpec(
        name="Stale customers",
        columns=[STALE_HEADERS[f] for f in report.fields],
        rows=report.rows,
        text_columns={STALE_HEADERS["external_id"], STALE_HEADERS["phones"]},
        date_columns={STALE_HEADERS[f] for f in (*dates, "archived_at")},
    )
    sheets.write_xlsx(path, [spec])


@contextmanager
def delivering(store: Store, report: StaleReport) -> Iterator[None]:
    """Wrap the output of a `--new-only` report: if writing it fails (disk full, the reader
    left, Ctrl-C), this run's newcomers are taken out of the state again so the next run
    lists them, rather than being recorded as reported and never seen."""
    try:
        yield
    except BaseException:
        if report.report is not None and report.new_count:
            with contextlib.suppress(CrmError, sqlite3.Error), store.write():
                reports_db.forget_new(store, report.report)
        raise


@dataclass
class Archived:
    backup: Path | None
    archived: list[int]
    skipped: int  # listed but no longer stale (or already archived) when the archive ran


def archive_listed(store: Store, report: StaleReport) -> Archived:
    """Move the customers a stale report listed to the dormant pool, after an automatic backup.

    Re-checks each one under the write lock: someone logged since the report was printed stays.
    """
    from crmcli.store import journal
    from crmcli.store.backup import auto_backup

    if not report.ids:
        return Archived(None, [], 0)
    backup = auto_backup(store, "stale-archive")
    with store.write():
        done = reports_db.archive_still_stale(store, report.ids, report.cutoff)
        for customer_id in done:
            journal.record(
                store, "archive", customer_id=customer_id, details={"stale_days": report.days}
            )
    return Archived(backup, done, len(set(report.ids)) - len(done))


# -- the overview -----------------------------------------------------------------------


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month_start(day: date, back: int = 0) -> date:
    months = day.year * 12 + day.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


def _activity(store: Store, by: str, today: date) -> dict[str, Any]:
    """Interactions per week (52, Monday first) or month (12) up to this one, UTC days."""
    if by == "week":
        starts = [_week_start(today) - timedelta(weeks=n) for n in range(51, -1, -1)]
    else:
        starts = [_month_start(today, n) for n in range(11, -1, -1)]
    counts = dict.fromkeys(starts, 0)
    for day, n in reports_db.interactions_per_day(store, starts[0].isoformat()):
        d = date.fromisoformat(day)
        bucket = _week_start(d) if by == "week" else d.replace(day=1)
        if bucket in counts:  # interactions dated in the future stay out of the chart
            counts[bucket] += n
    buckets = [{"start": s.isoformat(), "interactions": counts[s]} for s in starts]
    return {
        "by": by,
        "since": starts[0].isoformat(),
        "total": sum(counts.values()),
        "buckets": buckets,
    }


def _ranked(counter: Counter[Any], key: str) -> list[dict[str, Any]]:
    """Most common first, then by value; None (not recorded) last."""
    items = sorted(counter.items(), key=lambda kv: (kv[0] is None, -kv[1], str(kv[0])))
    return [{key: value, "count": n} for value, n in items]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _brief(store: Store, ids: list[int]) -> list[dict[str, Any]]:
    from crmcli.store import customers as customers_db

    keep = ("id", "name", "company", "phones", "status", "grade", "next_follow_up_on")
    return [{k: r.get(k) for k in keep} for r in customers_db.records(store, ids)]


def overview(
    store: Store,
    *,
    by: str = "month",
    stale_days: int = 90,
    soon_days: int = 7,
    include_archived: bool = False,
    top: int = 10,
    today: date | None = None,
) -> dict[str, Any]:
    """The numbers behind `stats`, as plain data (the JSON output is exactly this).

    The funnel is a snapshot: a customer counts in every stage up to its current one
    (a `customer` was a `prospect` and a `lead`); lost customers are counted apart, because the
    stage they were lost from is not recorded.
    """
    if by not in ("week", "month"):
        raise InvalidInput(f"--by {by!r}: expected week or month")
    today = today or date.today()
    by_status: Counter[Any] = Counter()
    by_grade: Counter[Any] = Counter()
    by_source: Counter[Any] = Counter()
    by_city: Counter[Any] = Counter()
    active = StaleOptions(days=stale_days).filters()
    cutoff = stale_cutoff(stale_days, today)
    soon_end = (date.fromisoformat(cutoff) + timedelta(days=soon_days)).isoformat()
    week_start = _week_start(today)
    week_end = week_start + timedelta(days=6)
    reports_db.map_for_long_reads(store)
    with store.read():  # one snapshot: the numbers add up even while someone writes
        for status, grade, source, city, n in reports_db.profile_counts(store, include_archived):
            by_status[status] += n
            by_grade[grade] += n
            by_source[source] += n
            by_city[city] += n
        archived = reports_db.archived_count(store)
        activity = _activity(store, by, today)
        overdue, due_today, due_later = reports_db.followup_counts(
            store, today.isoformat(), week_end.isoformat()
        )
        due_ids = reports_db.due_ids(store, week_end.isoformat(), top)
        due = _brief(store, due_ids)
        stale_now = reports_db.silent_before_count(store, cutoff, active)
        soon_count, soon_rows = reports_db.silent_between(store, cutoff, soon_end, active, top)
    total = sum(by_status.values())
    reached = {stage: sum(by_status[s] for s in FUNNEL[i:]) for i, stage in enumerate(FUNNEL)}
    funnel = []
    for i, stage in enumerate(FUNNEL):
        previous = reached[FUNNEL[i - 1]] if i else None
        funnel.append(
            {
                "stage": stage,
                "now": by_status[stage],
                "reached": reached[stage],
                "rate_from_previous": None if previous is None else _rate(reached[stage], previous),
            }
        )
    soon = []
    for customer_id, name, company, silent_since, channel in soon_rows:
        silent_day = date.fromisoformat(silent_since[:10])
        soon.append(
            {
                "id": customer_id,
                "name": name,
                "company": company,
                "silent_since": silent_since,
                "last_channel": channel,
                "days_silent": (today - silent_day).days,
                "stale_in_days": (silent_day + timedelta(days=stale_days + 1) - today).days,
            }
        )
    return {
        "as_of": today.isoformat(),
        "customers": {
            "total": total,
            "archived": archived,
            "archived_included": include_archived,
        },
        "by_status": [{"status": s, "count": by_status[s]} for s in (*FUNNEL, "lost")],
        "by_grade": _ranked(by_grade, "grade"),
        "by_source": _ranked(by_source, "source"),
        "by_city": _ranked(by_city, "city"),
        "funnel": {
            "stages": funnel,
            "lead_to_customer": _rate(reached["customer"], reached["lead"]),
            "lost": by_status["lost"],
        },
        "activity": activity,
        "followups_this_week": {
            "week_start": week_start.isoformat(),
            "week_end": week_end.isoformat(),
            "overdue": overdue,
            "today": due_today,
            "later_this_week": due_later,
            "customers": due,
        },
        "stale": {
            "days": stale_days,
            "now": stale_now,
            "soon_within_days": soon_days,
            "soon": soon_count,
            "customers": soon,
        },
    }


# -- the follow-up calendar -------------------------------------------------------------


def followup_events(store: Store, *, within: int | None, today: date | None = None) -> list[dict]:
    """Every planned follow-up (or those due within `within` days) as calendar events.

    One event per customer, with a UID that names the database and the customer, so importing
    a newer file moves a rescheduled follow-up instead of adding a second one.
    """
    from crmcli.store import customers as customers_db

    today = today or date.today()
    horizon = None if within is None else (today + timedelta(days=within)).isoformat()
    records = customers_db.records(store, reports_db.planned_followup_ids(store, horizon))
    db_id = store.meta("db_id") or "crmcli"
    events = []
    for r in records:
        who = r["name"] + (f" ({r['company']})" if r.get("company") else "")
        details = [
            f"Customer #{r['id']}: {who}",
            f"Status: {r['status']}" + (f", grade {r['grade']}" if r.get("grade") else ""),
        ]
        if r.get("phones"):
            details.append("Phone: " + ", ".join(r["phones"]))
        if r.get("last_contacted_at"):
            channel = f" ({r['last_channel']})" if r.get("last_channel") else ""
            details.append(f"Last contact: {r['last_contacted_at'][:10]}{channel}")
        details.append(f"crmcli show {r['id']}")
        events.append(
            {
                "uid": f"followup-{r['id']}-{db_id[:16]}@crmcli",
                "date": r["next_follow_up_on"],
                "summary": f"Follow up: {who}",
                "description": "\n".join(details),
                "customer_id": r["id"],
            }
        )
    return events
