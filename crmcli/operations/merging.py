"""Merging customers without losing anything, undoing a merge, and the merge journal.

A merge keeps one survivor. Its values win; its blanks are filled from the others; all phones,
e-mails and tags are kept (exact repeats dropped); every interaction moves to it; the most
advanced status and the earliest first contact are kept; notes are joined. The others become
tombstones (`customers.merged_into`) whose ids still resolve to the survivor. Everything runs in
one transaction and is journalled with a snapshot of every row it touched, so `unmerge` can put
them back exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crmcli.errors import InvalidInput, NeedsConfirmation, NotFound, UsageError
from crmcli.store import customers as customers_db
from crmcli.store import interactions as interactions_db
from crmcli.store import journal
from crmcli.store import merges as merges_db

if TYPE_CHECKING:
    from pathlib import Path

    from crmcli.store import Store

# A won deal outranks everything; an open opportunity outranks a lost one, which outranks a
# lead that was never worked.
STATUS_RANK = {"lead": 0, "lost": 1, "prospect": 2, "customer": 3}
_FILLABLE = (
    "kind",
    "company",
    "grade",
    "source",
    "industry",
    "city",
    "gender",
    "budget",
    "needs",
)
# Compared to tell whether the survivor changed after a merge (derived columns left out).
_WATCHED = (*customers_db.EDITABLE, "archived_at")


@dataclass
class MergeResult:
    merge_id: int
    survivor_id: int
    survivor_name: str
    merged: list[tuple[int, str]]
    filled: list[str] = field(default_factory=list)


def _live(store: Store, ids: list[int]) -> list[int]:
    out: list[int] = []
    for ref in ids:
        survivor = customers_db.survivor_of(store, ref)
        if survivor is None:
            raise NotFound(f"no customer with id {ref}")
        if survivor not in out:
            out.append(survivor)
    return out


def default_survivor(store: Store, ids: list[int]) -> int:
    """The record to keep when nobody said: most interactions, then most filled, then oldest."""
    return most_complete(customers_db.records(store, ids), merges_db.interaction_counts(store, ids))


def most_complete(records: list[dict[str, Any]], interactions: dict[int, int]) -> int:
    """Pure: the id with most interactions, then most filled fields, then the oldest."""

    def rank(r: dict[str, Any]) -> tuple[int, int, int]:
        filled = sum(1 for k in (*_FILLABLE, "phones", "emails", "tags") if r.get(k))
        return interactions.get(r["id"], 0), filled, -r["id"]

    return int(max(records, key=rank)["id"])


def merged_fields(survivor: dict[str, Any], others: list[dict[str, Any]]) -> dict[str, Any]:
    """The survivor's changed fields after absorbing `others` (pure; rows as dicts)."""
    changes: dict[str, Any] = {}
    for name in _FILLABLE:
        if survivor.get(name) in (None, ""):
            value = next((o[name] for o in others if o.get(name) not in (None, "")), None)
            if value is not None:
                changes[name] = value
    everyone = [survivor, *others]
    status = max((r["status"] for r in everyone), key=lambda s: STATUS_RANK.get(s, 0))
    if status != survivor["status"]:
        changes["status"] = status
    for name in ("first_contact_on", "next_follow_up_on"):
        dates = [r[name] for r in everyone if r.get(name)]
        if dates and min(dates) != survivor.get(name):
            changes[name] = min(dates)
    notes: list[str] = []
    for r in everyone:
        text = (r.get("notes") or "").strip()
        if text and text not in notes:
            notes.append(text)
    if notes and "\n".join(notes) != (survivor.get("notes") or ""):
        changes["notes"] = "\n".join(notes)
    return changes


def merge(
    store: Store,
    ids: list[int],
    *,
    keep: int | None = None,
    reasons: list[str] | None = None,
) -> MergeResult:
    """Merge customers into one, in one transaction; returns what was done."""
    with store.write():
        return merge_in_transaction(store, ids, keep=keep, reasons=reasons)


def merge_in_transaction(
    store: Store,
    ids: list[int],
    *,
    keep: int | None = None,
    reasons: list[str] | None = None,
) -> MergeResult:
    live = _live(store, ids)
    if len(live) < 2:
        raise InvalidInput(
            f"nothing to merge: {', '.join(f'#{i}' for i in ids)} are already one customer"
            f" (#{live[0]})"
        )
    if keep is not None:
        keep_live = customers_db.survivor_of(store, keep)
        if keep_live not in live:
            raise UsageError(f"--keep {keep} is not one of the customers being merged")
        survivor = keep_live
    else:
        survivor = default_survivor(store, live)
    others = [i for i in live if i != survivor]
    snap = merges_db.snapshot(store, [survivor, *others])
    rows = {r["id"]: r for r in snap["customers"]}
    changes = merged_fields(rows[survivor], [rows[i] for i in others])
    merges_db.absorb_contacts(store, survivor, others)
    interactions_db.move(store, others, survivor)
    merges_db.mark_merged(store, survivor, others)
    customers_db.update(store, survivor, changes)
    for other in others:
        customers_db.reindex(store, other)
    after = merges_db.snapshot(store, [survivor])
    merge_id = merges_db.insert_merge(store, survivor, others, reasons or [], snap, after)
    names = {i: rows[i]["name"] for i in live}
    journal.record(
        store,
        "merge",
        customer_id=survivor,
        details={
            "merge_id": merge_id,
            "survivor": {"id": survivor, "name": names[survivor]},
            "merged": [{"id": i, "name": names[i]} for i in others],
            "filled": sorted(changes),
            "reasons": reasons or [],
        },
    )
    return MergeResult(
        merge_id, survivor, names[survivor], [(i, names[i]) for i in others], sorted(changes)
    )


def merge_groups(
    store: Store,
    groups: list[tuple[list[int], int | None, list[str]]],
    *,
    backup_reason: str = "merge",
) -> tuple[list[MergeResult], Path | None]:
    """Merge several groups (members, survivor or None, reasons) in one transaction.

    Takes an automatic backup first when there is more than one group (a bulk change).
    """
    backup = None
    if len(groups) > 1:
        from crmcli.store.backup import auto_backup

        backup = auto_backup(store, backup_reason)
    results = []
    with store.write():
        for members, keep, reasons in groups:
            results.append(merge_in_transaction(store, members, keep=keep, reasons=reasons))
    return results, backup


# -- undo ---------------------------------------------------------------------------------


@dataclass
class UnmergePlan:
    merge_id: int
    survivor_id: int
    restored: list[tuple[int, str]]
    changes: list[str]  # what changed on the survivor since the merge (undone by the unmerge)
    kept: list[str]  # what was added since and stays with the survivor


def _describe_changes(after: dict[str, Any], now: dict[str, Any]) -> tuple[list[str], list[str]]:
    a, n = after["customers"][0], now["customers"][0]
    changes = [
        f"{name}: {a.get(name)!r} -> {n.get(name)!r}"
        for name in _WATCHED
        if a.get(name) != n.get(name)
    ]
    kept: list[str] = []
    for table in ("phones", "emails"):
        before_ids = {r["id"] for r in after[table]}
        now_ids = {r["id"] for r in now[table]}
        if before_ids - now_ids:
            changes.append(f"{table}: {len(before_ids - now_ids)} removed since (they come back)")
        if now_ids - before_ids:
            kept.append(f"{len(now_ids - before_ids)} {table} added since stay on the survivor")
    tags_after = {t for _, t in after["tags"]}
    tags_now = {t for _, t in now["tags"]}
    if tags_after - tags_now:
        changes.append(
            f"tags removed since (they come back): {', '.join(sorted(tags_after - tags_now))}"
        )
    if tags_now - tags_after:
        kept.append(
            f"tags added since stay on the survivor: {', '.join(sorted(tags_now - tags_after))}"
        )
    inter_after = set(next(iter(after["interactions"].values()), []))
    inter_now = set(next(iter(now["interactions"].values()), []))
    if inter_now - inter_after:
        kept.append(
            f"{len(inter_now - inter_after)} interaction(s) logged since stay on the survivor"
        )
    if inter_after - inter_now:
        changes.append(f"{len(inter_after - inter_now)} interaction(s) deleted since")
    return changes, kept


def plan_unmerge(store: Store, merge_id: int) -> UnmergePlan:
    """What undoing a merge would do, or why it cannot be done."""
    row = merges_db.fetch_merge(store, merge_id)
    if row is None:
        raise NotFound(f"no merge with id {merge_id} (see `crmcli merges`)")
    if row["undone_at"]:
        raise InvalidInput(f"merge {merge_id} was already undone at {row['undone_at']}")
    survivor = row["survivor_id"]
    involved = [c["id"] for c in row["snapshot"]["customers"]]
    later = merges_db.later_merges(store, merge_id, involved)
    if later:
        raise UsageError(
            f"merge {merge_id} cannot be undone while later merge(s) {', '.join(map(str, later))}"
            " involve the same customers; undo those first"
        )
    current = customers_db.fetch_row(store, survivor)
    if current is None:
        raise NotFound(f"customer #{survivor} (the survivor of merge {merge_id}) was deleted")
    now = merges_db.snapshot(store, [survivor])
    changes, kept = _describe_changes(row["survivor_after"], now)
    restored = [(c["id"], c["name"]) for c in row["snapshot"]["customers"]]
    return UnmergePlan(merge_id, survivor, restored, changes, kept)


def unmerge(store: Store, merge_id: int, *, force: bool = False) -> UnmergePlan:
    """Restore every customer and interaction of a merge as it was before it.

    When the survivor changed since the merge, refuses (NeedsConfirmation naming --force)
    unless `force`: the caller shows `plan_unmerge(...).changes` and asks first.
    """
    with store.write():
        plan = plan_unmerge(store, merge_id)
        if plan.changes and not force:
            raise NeedsConfirmation(
                f"customer #{plan.survivor_id} changed since merge {merge_id}"
                f" ({'; '.join(plan.changes)}); pass --force to undo the merge anyway"
            )
        row = merges_db.fetch_merge(store, merge_id)
        assert row is not None
        snap = row["snapshot"]
        now = merges_db.snapshot(store, [plan.survivor_id])
        after_tags = {t for _, t in row["survivor_after"]["tags"]}
        added_tags = {t for _, t in now["tags"]} - after_tags
        merges_db.restore(store, snap, survivor_tags=added_tags)
        before = {i for ids in snap["interactions"].values() for i in ids}
        if set(next(iter(now["interactions"].values()), [])) - before:
            # Interactions logged since the merge stay on the survivor: its last contact must
            # count them (without pretending the restored row was edited now).
            merges_db.refresh_last_contact_quietly(store, plan.survivor_id)
        for customer_id, _ in plan.restored:
            customers_db.reindex(store, customer_id)
        merges_db.mark_undone(store, merge_id)
        journal.record(
            store,
            "unmerge",
            customer_id=plan.survivor_id,
            details={
                "merge_id": merge_id,
                "restored": [{"id": i, "name": n} for i, n in plan.restored],
                "changes_undone": plan.changes,
            },
        )
    return plan


def list_merges(store: Store, limit: int | None = None) -> list[dict[str, Any]]:
    import json

    out = []
    for row in merges_db.list_merges(store, limit):
        merged = json.loads(row["merged_ids"])
        names = merges_db.names_of(store, merged)
        out.append(
            {
                "id": row["id"],
                "at": row["at"],
                "survivor_id": row["survivor_id"],
                "survivor_name": row["survivor_name"],
                "merged_ids": merged,
                "merged_names": [names.get(i, "?") for i in merged],
                "reasons": json.loads(row["reasons"] or "[]"),
                "undone_at": row["undone_at"],
            }
        )
    return out


def mark_not_duplicates(store: Store, ids: list[int]) -> int:
    """Remember that these customers are distinct: dedupe never proposes their pairs again."""
    with store.write():
        live = _live(store, ids)
        if len(live) < 2:
            raise InvalidInput("need two different customers to mark as not duplicates")
        pairs = [(a, b) for i, a in enumerate(live) for b in live[i + 1 :]]
        count = merges_db.add_not_duplicates(store, pairs)
        journal.record(store, "not-duplicates", details={"customers": live})
    return count
