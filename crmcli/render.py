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


def make_console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not stream.isatty():
        # Piped tables are for reading later (less, a file): do not chop them at 80 columns.
        width = int(os.environ.get("COLUMNS") or 200)
    return Console(file=stream, width=width, no_color="NO_COLOR" in os.environ or None)


def as_text(value: Any, style: str | None = None) -> Text:
    from rich.text import Text

    return Text(_cell(value), style=style or "")


# -- listings ---------------------------------------------------------------------------


def emit(
    rows: Iterable[dict],
    columns: Sequence[Column],
    fmt: Format,
    *,
    fields: Sequence[str],
    title: str | None = None,
    empty: str = "Nothing to show.",
    styler: Callable[[dict], str | None] | None = None,
) -> None:
    """Print a listing: `columns` shape the table, `fields` are the machine formats' keys.
    The machine formats write `rows` as they come (json: once all have come)."""
    if fmt is Format.table:
        shown = rows if isinstance(rows, Sequence) else list(rows)
        if not shown:
            message(empty)
            return
        _table(shown, columns, title=title, styler=styler)
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
    console = make_console()
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
            *(as_text(row.get(c.field)) for c in columns), style=styler(row) if styler else None
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

    console = make_console()
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
            facts.add_row(label, as_text(_moment(value) if field.endswith("_at") else value))
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
            as_text(item["at"][:16].replace("T", " ")),
            as_text(item["channel"]),
            as_text(item["summary"]),
            as_text(item.get("outcome")),
            as_text(item.get("next_follow_up_on")),
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

    with Progress(console=make_console(stderr=True), transient=True) as bar:
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

    console = make_console(stderr=stderr)
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
            as_text(m["id"], "dim"),
            as_text(m["name"], "bold"),
            as_text(m.get("company")),
            as_text(m.get("phones")),
            as_text(m.get("emails")),
            as_text(m.get("status")),
            as_text(m.get("city")),
            as_text(m.get("first_contact_on")),
        )
    console.print(table)
    for p in group.pairs:
        line = Text(f"  #{p['a']} ~ #{p['b']}  ", style="dim")
        line.append(_score(p["score"]), style="bold")
        line.append("  " + "; ".join(p["reasons"]))
        console.print(line)
    console.print()


def duplicate_groups(groups: Iterable[Any], rows: Iterable[dict], fmt: Format) -> None:
    """`dedupe`'s listing: groups for people; one row per member for programs (either may
    be a generator: only the one the format needs is consumed)."""
    if fmt is not Format.table:
        emit(rows, [], fmt, fields=DUPLICATE_FIELDS)
        return
    shown = 0
    for group in groups:
        duplicate_group(group)
        shown += 1
    if not shown:
        message("No duplicates found.")
        return
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
