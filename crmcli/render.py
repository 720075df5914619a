"""All output: the only module that talks to Rich.

Data goes to stdout in the format asked (`table` for people; `json`, `jsonl`, `csv`, `tsv`
for programs, with stable field names, ISO dates and UTC times); messages, warnings and
errors go to stderr. User data always enters Rich as `rich.text.Text`, never as markup, so
a customer called `[bold]x` prints as typed. Rich is imported only when a table, a panel or a
progress bar is drawn: the machine formats never pay for it.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    style: str | None = None
    max_width: int | None = None
    justify: str = "left"
    no_wrap: bool | None = None  # None: decided by the field (phones, dates, codes never wrap)
    optional: bool = False  # left out on terminals narrower than WIDE_TERMINAL
    min_width: int | None = None

    @property
    def keeps_whole(self) -> bool:
        if self.no_wrap is not None:
            return self.no_wrap
        # A phone or a date broken over two lines reads as two values.
        atomic = ("phone", "phones", "id", "status", "grade", "since", "last_contact", "overdue")
        return self.field in atomic or self.field.endswith(("_on", "_at", "_id"))


WIDE_TERMINAL = 120


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# -- messages (stderr) ------------------------------------------------------------------


def message(text: str) -> None:
    print(text, file=sys.stderr)


def warn(text: str) -> None:
    print(f"Warning: {text}", file=sys.stderr)


def error(text: str, hint: str | None = None) -> None:
    print(f"Error: {text}", file=sys.stderr)
    if hint:
        print(f"Hint: {hint}", file=sys.stderr)


# -- consoles ---------------------------------------------------------------------------


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not stream.isatty():
        # Piped tables are for reading later (less, a file): do not chop them at 80 columns.
        width = int(os.environ.get("COLUMNS") or 200)
    return Console(file=stream, width=width, no_color="NO_COLOR" in os.environ or None)


def _text(value: Any, style: str | None = None) -> Text:
    from rich.text import Text

    return Text(_cell(value), style=style or "")


# -- listings ---------------------------------------------------------------------------


def emit(
    rows: Sequence[dict],
    columns: Sequence[Column],
    fmt: Format,
    *,
    fields: Sequence[str],
    title: str | None = None,
    empty: str = "Nothing to show.",
    styler: Callable[[dict], str | None] | None = None,
) -> None:
    """Print a listing: `columns` shape the table, `fields` are the machine formats' keys."""
    if fmt is Format.table:
        if not rows:
            message(empty)
            return
        _table(rows, columns, title=title, styler=styler)
    elif fmt is Format.json:
        json.dump([_pick(r, fields) for r in rows], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif fmt is Format.jsonl:
        for row in rows:
            sys.stdout.write(json.dumps(_pick(row, fields), ensure_ascii=False) + "\n")
    else:
        write_delimited(sys.stdout, rows, fields, "\t" if fmt is Format.tsv else ",")


def _pick(row: dict, fields: Sequence[str]) -> dict:
    return {f: row.get(f) for f in fields}


def write_delimited(
    stream: Any, rows: Iterable[dict], fields: Sequence[str], delimiter: str
) -> None:
    writer = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(row.get(f)).replace("\n", " ") for f in fields])


def _table(
    rows: Sequence[dict],
    columns: Sequence[Column],
    *,
    title: str | None,
    styler: Callable[[dict], str | None] | None,
) -> None:
    from rich import box
    from rich.table import Table

    table = Table(
        title=title, box=box.SIMPLE_HEAD, header_style="bold", title_justify="left", show_edge=False
    )
    console = _console()
    if console.width < WIDE_TERMINAL:
        # Squeezing every column into a narrow terminal wraps names into one-character
        # slivers: better to leave out what matters least (the machine formats keep it all).
        columns = [c for c in columns if not c.optional]
    for col in columns:
        table.add_column(
            col.header,
            style=col.style,
            max_width=col.max_width,
            min_width=col.min_width,
            justify=col.justify,  # type: ignore[arg-type]
            overflow="fold",
            no_wrap=col.keeps_whole,
        )
    for row in rows:
        table.add_row(
            *(_text(row.get(c.field)) for c in columns), style=styler(row) if styler else None
        )
    console.print(table)


# -- one customer -----------------------------------------------------------------------

PROFILE_FIELDS = (
    ("kind", "Kind"),
    ("company", "Company"),
    ("phones", "Phones"),
    ("emails", "Emails"),
    ("status", "Status"),
    ("grade", "Grade"),
    ("source", "Source"),
    ("industry", "Industry"),
    ("city", "City"),
    ("gender", "Gender"),
    ("budget", "Budget"),
    ("needs", "Needs"),
    ("tags", "Tags"),
    ("notes", "Notes"),
    ("external_id", "Customer no."),
    ("first_contact_on", "First contact"),
    ("last_contacted_at", "Last contact"),
    ("next_follow_up_on", "Next follow-up"),
    ("archived_at", "Archived"),
    ("created_at", "Created"),
    ("updated_at", "Updated"),
)


def _moment(value: str) -> str:
    """`2026-11-25T10:02:27Z` as people read it: `2026-11-25 10:02 UTC`."""
    return value[:16].replace("T", " ") + " UTC" if value.endswith("Z") else value


def profile(record: dict, timeline: Sequence[dict], fmt: Format) -> None:
    if fmt is not Format.table:
        out = dict(record)
        out["interactions"] = list(timeline)
        if fmt is Format.json:
            json.dump(out, sys.stdout, ensure_ascii=False, indent=2, default=str)
            sys.stdout.write("\n")
        elif fmt is Format.jsonl:
            sys.stdout.write(json.dumps(out, ensure_ascii=False, default=str) + "\n")
        else:
            fields = ["id", "at", "channel", "summary", "outcome", "next_follow_up_on"]
            write_delimited(sys.stdout, timeline, fields, "\t" if fmt is Format.tsv else ",")
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console = _console()
    heading = Text(f"#{record['id']} ", style="dim")
    heading.append(_cell(record["name"]), style="bold")
    if record.get("archived_at"):
        heading.append("  (archived)", style="yellow")
    console.print(heading)
    facts = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column(overflow="fold")
    for field, label in PROFILE_FIELDS:
        value = record.get(field)
        if value not in (None, "", []):
            facts.add_row(label, _text(_moment(value) if field.endswith("_at") else value))
    console.print(facts)
    if not timeline:
        console.print(Text("No interactions yet.", style="dim"))
        return
    history = Table(
        title="Timeline (newest first)", box=box.SIMPLE_HEAD, title_justify="left", show_edge=False
    )
    history.add_column("When (UTC)", no_wrap=True)
    history.add_column("Channel")
    history.add_column("Summary", overflow="fold")
    history.add_column("Outcome", overflow="fold")
    history.add_column("Next")
    for item in timeline:
        history.add_row(
            _text(item["at"][:16].replace("T", " ")),
            _text(item["channel"]),
            _text(item["summary"]),
            _text(item.get("outcome")),
            _text(item.get("next_follow_up_on")),
        )
    console.print(history)


def data(obj: Any) -> None:
    """A single JSON document (for --format json of non-listing results)."""
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


@contextmanager
def progress(total: int | None, description: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; a silent no-op when piped."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.progress import Progress

    with Progress(console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def key_created(where: str, recovery_code: str) -> None:
    """Shown once, when a database's key is made: where it lives and the recovery code."""
    message(f"Contact details are encrypted; the key is stored in {where}.")
    message("Recovery code (shown once; keep it somewhere safe, e.g. a password manager):")
    message(f"    {recovery_code}")
    message("Restore it on another machine with `crmcli key import`.")


# -- streamed listings (reports) --------------------------------------------------------


def stream(rows: Iterable[Sequence[Any]], fields: Sequence[str], fmt: Format) -> None:
    """Write rows (tuples in `fields` order) in a machine format as they come, never holding
    them all: a report can be a million rows. Lists must arrive joined for csv/tsv."""
    if fmt in (Format.csv, Format.tsv):
        writer = csv.writer(
            sys.stdout, delimiter="\t" if fmt is Format.tsv else ",", lineterminator="\n"
        )
        writer.writerow(fields)
        writer.writerows(rows)
    elif fmt is Format.jsonl:
        write = sys.stdout.write
        for row in rows:
            write(json.dumps(dict(zip(fields, row, strict=True)), ensure_ascii=False) + "\n")
    elif fmt is Format.json:
        # Byte for byte what json.dump(list, indent=2) writes, one object at a time.
        write = sys.stdout.write
        first = True
        for row in rows:
            text = json.dumps(dict(zip(fields, row, strict=True)), ensure_ascii=False, indent=2)
            write(("[\n  " if first else ",\n  ") + text.replace("\n", "\n  "))
            first = False
        write("[]\n" if first else "\n]\n")
    else:
        raise ValueError(f"stream() writes machine formats, not {fmt}")


# -- the overview (stats) ---------------------------------------------------------------

_EIGHTHS = " ▏▎▍▌▋▊▉"


def _bar(value: float, top: float, width: int) -> str:
    """A horizontal bar of `width` cells at most, in eighths of a cell."""
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / top * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _counts_table(title: str, rows: Sequence[tuple[Any, int]], total: int, top: int = 8) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(
        title=title, box=box.SIMPLE_HEAD, title_justify="left", show_edge=False, header_style="bold"
    )
    table.add_column("", overflow="fold", max_width=22)
    table.add_column("n", justify="right")
    table.add_column("%", justify="right", style="dim")
    shown = list(rows[:top])
    rest = sum(n for _, n in rows[top:])
    for value, n in shown:
        label = _text("(none)", "dim") if value is None else _text(value)
        table.add_row(label, f"{n:,}", _percent(n / total if total else None))
    if rest:
        table.add_row(
            _text(f"{len(rows) - top} more", "dim"),
            f"{rest:,}",
            _percent(rest / total if total else None),
        )
    return table


def stats(overview: dict[str, Any], fmt: Format) -> None:
    """Print the overview: panels and bar charts for people, the same numbers for programs."""
    if fmt is Format.json:
        data(overview)
        return
    if fmt is Format.jsonl:
        sys.stdout.write(json.dumps(overview, ensure_ascii=False, default=str) + "\n")
        return
    if fmt in (Format.csv, Format.tsv):
        write_delimited(
            sys.stdout,
            _stats_rows(overview),
            ("section", "key", "value"),
            "\t" if fmt is Format.tsv else ",",
        )
        return
    _stats_table(overview)


def _stats_rows(o: dict[str, Any]) -> list[dict[str, Any]]:
    """The overview as long (section, key, value) rows for csv/tsv."""
    rows: list[dict[str, Any]] = [
        {"section": "customers", "key": "total", "value": o["customers"]["total"]},
        {"section": "customers", "key": "archived", "value": o["customers"]["archived"]},
    ]
    for section in ("status", "grade", "source", "city"):
        for item in o[f"by_{section}"]:
            rows.append({"section": section, "key": item[section], "value": item["count"]})
    for stage in o["funnel"]["stages"]:
        rows.append({"section": "funnel_reached", "key": stage["stage"], "value": stage["reached"]})
        if stage["rate_from_previous"] is not None:
            rows.append(
                {
                    "section": "funnel_rate",
                    "key": stage["stage"],
                    "value": stage["rate_from_previous"],
                }
            )
    rows.append(
        {
            "section": "funnel_rate",
            "key": "lead_to_customer",
            "value": o["funnel"]["lead_to_customer"],
        }
    )
    for bucket in o["activity"]["buckets"]:
        rows.append(
            {
                "section": f"interactions_per_{o['activity']['by']}",
                "key": bucket["start"],
                "value": bucket["interactions"],
            }
        )
    f = o["followups_this_week"]
    for key in ("overdue", "today", "later_this_week"):
        rows.append({"section": "followups_this_week", "key": key, "value": f[key]})
    s = o["stale"]
    rows.append({"section": "stale", "key": f"now_over_{s['days']}_days", "value": s["now"]})
    rows.append(
        {"section": "stale", "key": f"within_{s['soon_within_days']}_days", "value": s["soon"]}
    )
    return rows


def _stats_table(o: dict[str, Any]) -> None:
    from rich.columns import Columns
    from rich.table import Table
    from rich.text import Text

    console = _console()
    width = max(40, min(console.width, 120))
    total = o["customers"]["total"]
    heading = Text(f"Overview as of {o['as_of']}: ", style="bold")
    heading.append(f"{total:,} customers")
    archived = o["customers"]["archived"]
    if archived:
        note = "included" if o["customers"]["archived_included"] else "not counted"
        heading.append(f" ({archived:,} archived, {note})", style="dim")
    console.print(heading)
    if not total:
        console.print(
            Text("No customers yet: add some with `crmcli add` or `crmcli import`.", style="dim")
        )
    status_rows = [(s["status"], s["count"]) for s in o["by_status"]]
    tables = [
        _counts_table("By status", status_rows, total),
        _counts_table("By grade", [(g["grade"], g["count"]) for g in o["by_grade"]], total),
        _counts_table("By source", [(g["source"], g["count"]) for g in o["by_source"]], total),
        _counts_table("By city", [(g["city"], g["count"]) for g in o["by_city"]], total),
    ]
    console.print(Columns(tables, padding=(0, 3)))

    funnel = o["funnel"]
    chart = Table(
        title="Funnel",
        box=None,
        title_justify="left",
        title_style="bold",
        show_header=False,
        padding=(0, 1),
    )
    chart.add_column(no_wrap=True)
    chart.add_column(justify="right")
    chart.add_column(no_wrap=True)
    chart.add_column(style="dim", no_wrap=True)
    top = max((s["reached"] for s in funnel["stages"]), default=0)
    bar_width = max(10, width - 50)
    for stage in funnel["stages"]:
        rate = stage["rate_from_previous"]
        chart.add_row(
            stage["stage"],
            f"{stage['reached']:,}",
            Text(_bar(stage["reached"], top, bar_width), style="cyan"),
            "" if rate is None else f"{_percent(rate)} of the stage before",
        )
    chart.add_row(
        Text("lost", style="dim"), f"{funnel['lost']:,}", "", "stage lost from not recorded"
    )
    console.print(chart)
    console.print(
        Text(
            f"  lead → customer: {_percent(funnel['lead_to_customer'])}"
            "  (a customer counts in every stage it passed)",
            style="dim",
        )
    )
    console.print()

    activity = o["activity"]
    per = activity["by"]
    chart = Table(
        title=(
            f"Interactions per {per} (UTC), last {len(activity['buckets'])} {per}s:"
            f" {activity['total']:,}"
        ),
        box=None,
        title_justify="left",
        title_style="bold",
        show_header=False,
        padding=(0, 1),
    )
    chart.add_column(no_wrap=True, style="dim")
    chart.add_column(no_wrap=True)
    chart.add_column(justify="right")
    peak = max((b["interactions"] for b in activity["buckets"]), default=0)
    for bucket in activity["buckets"]:
        label = bucket["start"][:7] if per == "month" else bucket["start"]
        chart.add_row(
            label,
            Text(_bar(bucket["interactions"], peak, bar_width), style="green"),
            f"{bucket['interactions']:,}",
        )
    console.print(chart)
    console.print()

    f = o["followups_this_week"]
    line = Text(f"Follow-ups this week ({f['week_start']} – {f['week_end']}): ", style="bold")
    line.append(f"{f['overdue']:,} overdue", style="red" if f["overdue"] else "")
    line.append(f", {f['today']:,} today, {f['later_this_week']:,} later this week")
    console.print(line)
    due = Table(box=None, show_header=False, padding=(0, 1))
    for _ in range(4):
        due.add_column(overflow="fold")
    for c in f["customers"]:
        contact = [c.get("company"), *(c.get("phones") or [])[:1]]
        due.add_row(
            _text(f"#{c['id']}", "dim"),
            _text(c["name"], "bold"),
            _text(" · ".join(p for p in contact if p)),
            _text(c["next_follow_up_on"], "red" if c["next_follow_up_on"] < o["as_of"] else None),
        )
    if f["customers"]:
        console.print(due)
    console.print()

    s = o["stale"]
    line = Text(f"Going stale (no interaction for more than {s['days']} days): ", style="bold")
    line.append(f"{s['now']:,} now, {s['soon']:,} more within {s['soon_within_days']} days")
    console.print(line)
    soon = Table(box=None, show_header=False, padding=(0, 1))
    for _ in range(4):
        soon.add_column(overflow="fold")
    for c in s["customers"]:
        when = "tomorrow" if c["stale_in_days"] == 1 else f"in {c['stale_in_days']} days"
        soon.add_row(
            _text(f"#{c['id']}", "dim"),
            _text(c["name"], "bold"),
            _text(c.get("company")),
            _text(f"{when} (silent {c['days_silent']} days)"),
        )
    if s["customers"]:
        console.print(soon)
        console.print(Text("  see them all: crmcli stale --days N", style="dim"))


# -- calendar (iCalendar, RFC 5545) -----------------------------------------------------


def _ics_text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and newlines (RFC 5545 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _ics_fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 character (RFC 5545 3.1)."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    start, limit = 0, 75
    while start < len(raw):
        end = min(start + limit, len(raw))
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:  # a continuation byte: step back
            end -= 1
        parts.append(raw[start:end].decode("utf-8"))
        start, limit = end, 74  # continuation lines start with one space
    return "\r\n ".join(parts)


def ics(events: Sequence[dict], *, stamp: str, name: str = "crmcli follow-ups") -> None:
    """Write all-day events (uid, date, summary, description) as an iCalendar file to stdout.

    `stamp` is the DTSTAMP, a UTC time in the stored form (`2026-11-25T09:45:19Z`).
    """
    dtstamp = stamp.replace("-", "").replace(":", "")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//crmcli//follow-ups//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_ics_text(name)}",
    ]
    for event in events:
        day = date.fromisoformat(event["date"])
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event['uid']}",
            f"DTSTAMP:{dtstamp}",
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_ics_text(event['summary'])}",
            f"DESCRIPTION:{_ics_text(event.get('description') or '')}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    sys.stdout.write("".join(_ics_fold(line) + "\r\n" for line in lines))


# -- duplicates (dedupe, merge, clean) ----------------------------------------------------

DUPLICATE_FIELDS = (
    "group",
    "band",
    "group_score",
    "weakest_link",
    "survivor",
    "id",
    "external_id",
    "kind",
    "name",
    "company",
    "phones",
    "emails",
    "status",
    "city",
    "first_contact_on",
    "last_contacted_at",
    "matches",
    "score",
    "reasons",
)


def _score(value: float) -> str:
    return f"{value:g}"


def duplicate_group(group: Any, *, stderr: bool = False) -> None:
    """One group for people: a heading, the members (★ the suggested survivor), the reasons."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console = _console(stderr=stderr)
    a, b = group.weakest
    heading = Text(f"Group {group.number} ", style="bold")
    heading.append(group.band, style="green" if group.band == "likely" else "yellow")
    heading.append(f"  weakest link {_score(group.score)} (#{a} ~ #{b})", style="dim")
    console.print(heading)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in ("", "ID", "Name", "Company", "Phones", "Emails", "Status", "City", "First"):
        table.add_column(header, overflow="fold")
    for m in group.members:
        table.add_row(
            Text("★" if m["id"] == group.survivor else " ", style="bold"),
            _text(m["id"], "dim"),
            _text(m["name"], "bold"),
            _text(m.get("company")),
            _text(m.get("phones")),
            _text(m.get("emails")),
            _text(m.get("status")),
            _text(m.get("city")),
            _text(m.get("first_contact_on")),
        )
    console.print(table)
    for p in group.pairs:
        line = Text(f"  #{p['a']} ~ #{p['b']}  ", style="dim")
        line.append(_score(p["score"]), style="bold")
        line.append("  " + "; ".join(p["reasons"]))
        console.print(line)
    console.print()


def duplicate_groups(groups: Sequence[Any], rows: Sequence[dict], fmt: Format) -> None:
    """`dedupe`'s listing: groups for people; one row per member for programs."""
    if fmt is not Format.table:
        emit(rows, [], fmt, fields=DUPLICATE_FIELDS)
        return
    if not groups:
        message("No duplicates found.")
        return
    for group in groups:
        duplicate_group(group)
    message("★ = the record kept by a merge unless you choose another (--keep).")


MERGE_FIELDS = (
    "id",
    "at",
    "survivor_id",
    "survivor_name",
    "merged_ids",
    "merged_names",
    "reasons",
    "undone_at",
)
MERGE_COLUMNS = (
    Column("id", "Merge", style="dim", justify="right"),
    Column("at", "When (UTC)"),
    Column("survivor", "Kept"),
    Column("merged", "Merged into it", max_width=40),
    Column("reasons", "Why", max_width=60),
    Column("undone_at", "Undone"),
)


def merges(rows: Sequence[dict], fmt: Format) -> None:
    shown = [
        {
            **r,
            "at": _moment(r["at"]),
            "survivor": f"#{r['survivor_id']} {r['survivor_name'] or ''}".strip(),
            "merged": "; ".join(
                f"#{i} {n}" for i, n in zip(r["merged_ids"], r["merged_names"], strict=False)
            ),
            "undone_at": _moment(r["undone_at"]) if r.get("undone_at") else "",
        }
        for r in rows
    ]
    emit(
        shown if fmt is Format.table else rows,
        MERGE_COLUMNS,
        fmt,
        fields=MERGE_FIELDS,
        empty="No merges yet.",
    )
