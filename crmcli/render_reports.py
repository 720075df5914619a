"""Report outputs: the `stats` overview (panels and bar charts, or the same numbers for
programs) and follow-ups as an iCalendar file. Rich is reached through `render`'s helpers and
imported inside the functions that draw, as in `render`."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from crmcli.render import Format, as_text, data, make_console, write_delimited

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
        label = as_text("(none)", "dim") if value is None else as_text(value)
        table.add_row(label, f"{n:,}", _percent(n / total if total else None))
    if rest:
        table.add_row(
            as_text(f"{len(rows) - top} more", "dim"),
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

    console = make_console()
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
            as_text(f"#{c['id']}", "dim"),
            as_text(c["name"], "bold"),
            as_text(" · ".join(p for p in contact if p)),
            as_text(c["next_follow_up_on"], "red" if c["next_follow_up_on"] < o["as_of"] else None),
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
            as_text(f"#{c['id']}", "dim"),
            as_text(c["name"], "bold"),
            as_text(c.get("company")),
            as_text(f"{when} (silent {c['days_silent']} days)"),
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
