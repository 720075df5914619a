"""The audit trail as people and programs read it: `crmcli history [ID]`.

Each entry keeps its stored details (before/after values, contact details masked) for the
machine formats, and gets a one-line `summary` of what changed for the table, e.g.
`status: lead → customer; phones: +138****5678`. Summaries are built from the details alone, so
entries written by any command (merge, import, export…) read sensibly without knowing them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crmcli.errors import NotFound
from crmcli.store import journal

if TYPE_CHECKING:
    from crmcli.store import Store

# Without an id the whole trail can be long (an import writes an entry per customer): the table
# shows the newest entries unless asked for more. One customer's story is shown whole.
DEFAULT_LIMIT = 50
_VALUE_WIDTH = 40
_EMPTY = "(none)"
# Fields every record has that say nothing about a change.
_QUIET = frozenset({"id", "created_at", "updated_at"})


@dataclass
class Trail:
    entries: list[dict[str, Any]]
    total: int  # entries matching, before the limit


def history(
    store: Store,
    customer_id: int | None = None,
    *,
    limit: int | None = None,
    actions: list[str] | None = None,
) -> Trail:
    """Audit entries, newest first. `limit` None: the default for the scope; 0: all of them."""
    if limit is None:
        limit = DEFAULT_LIMIT if customer_id is None else 0
    wanted = list(actions or [])
    rows = journal.history(store, customer_id, limit or None, actions=wanted)
    if customer_id is not None and not rows and not journal.customer_names(store, [customer_id]):
        raise NotFound(f"no customer with id {customer_id}, and no history of one")
    total = (
        len(rows)
        if not limit or len(rows) < limit
        else journal.count(store, customer_id, actions=wanted)
    )
    names = journal.customer_names(store, [r["customer_id"] for r in rows if r["customer_id"]])
    parsed = [_parse(row["details"]) for row in rows]
    for row, details in zip(rows, parsed, strict=True):
        # A deleted customer's name survives in its add/delete entries: lend it to the others.
        remembered = _name_in(details)
        if row["customer_id"] is not None and remembered:
            names.setdefault(row["customer_id"], remembered)
    entries = []
    for row, details in zip(rows, parsed, strict=True):
        entries.append(
            {
                "id": row["id"],
                "at": row["at"],
                "os_user": row["os_user"],
                "command": row["command"],
                "action": row["action"],
                "customer_id": row["customer_id"],
                "customer_name": names.get(row["customer_id"]),
                "summary": summarize(row["action"], details),
                "details": details,
            }
        )
    return Trail(entries, total)


def _parse(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


def _name_in(details: dict[str, Any]) -> str | None:
    """The name an entry itself remembers (a deleted customer's last state)."""
    for key in ("before", "after"):
        record = details.get(key)
        if isinstance(record, dict) and isinstance(record.get("name"), str):
            return str(record["name"])
    return None


# -- the one-line summary ---------------------------------------------------------------


def summarize(action: str, details: dict[str, Any]) -> str:
    """What changed, in one line: `status: lead → customer; phones: +138****5678`."""
    if action == "edit" and isinstance(details.get("changed"), dict):
        return "; ".join(_change(k, v) for k, v in details["changed"].items())
    if action == "add" and isinstance(details.get("after"), dict):
        return _record_line(details["after"])
    if action == "delete" and isinstance(details.get("before"), dict):
        line = _record_line(details["before"])
        count = details.get("interactions_deleted")
        return f"{line}; {count} interaction(s) deleted" if count else line
    if action == "log":
        return _log_line(details)
    if action == "reveal":
        many = details.get("customers")
        return (
            f"full contact details of {many} customers shown"
            if many
            else ("full contact details shown")
        )
    if action == "key export":
        where = details.get("to")
        return (
            "recovery code printed"
            if where in (None, "stdout")
            else (f"recovery code written to {where}")
        )
    if action == "key import":
        return f"key stored in {details.get('stored_in', '?')}"
    return _generic(details)


def _change(field: str, pair: Any) -> str:
    before, after = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
    if isinstance(before, list) or isinstance(after, list):
        old, new = list(before or []), list(after or [])
        moves = [f"+{_short(v)}" for v in new if v not in old]
        moves += [f"-{_short(v)}" for v in old if v not in new]
        return f"{field}: {' '.join(moves) or 'reordered'}"
    return f"{field}: {_value(before)} → {_value(after)}"


def _record_line(record: dict[str, Any]) -> str:
    parts = []
    for key, value in record.items():
        if key in _QUIET or value in (None, "", []) or (key == "kind" and value == "person"):
            continue
        parts.append(f"{key}: {_value(value)}")
    return "; ".join(parts)


def _log_line(details: dict[str, Any]) -> str:
    line = str(details.get("channel") or "interaction")
    at = details.get("at")
    if isinstance(at, str) and at:
        line += f" at {at[:16].replace('T', ' ')}"
    if details.get("next_follow_up_on"):
        line += f"; next follow-up {details['next_follow_up_on']}"
    return line


def _generic(details: dict[str, Any]) -> str:
    parts = []
    for key, value in details.items():
        if isinstance(value, dict):
            parts.append(f"{key}: {len(value)} field(s)")
        elif isinstance(value, list) and len(value) > 3:
            parts.append(f"{key}: {len(value)} item(s)")
        else:
            parts.append(f"{key}: {_value(value)}")
    return "; ".join(parts)


def _value(value: Any) -> str:
    if value is None or value == "" or value == []:
        return _EMPTY
    if isinstance(value, list):
        return ", ".join(_short(v) for v in value)
    return _short(value)


def _short(value: Any) -> str:
    text = " ".join(str(value).split())  # one line, whatever the value held
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"
