"""Merging keeps everything; unmerge restores every row exactly; merged ids resolve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crmcli.errors import InvalidInput, NeedsConfirmation, NotFound, UsageError
from crmcli.models import build_draft
from crmcli.operations import customers, interactions, merging
from crmcli.operations.dedupe import find_groups, likely_duplicates_of
from crmcli.operations.search import resolve
from crmcli.store import Store, open_store


@pytest.fixture
def store(isolated: Path) -> Store:
    s = open_store(isolated, create=True)
    s.command = "test"
    return s


def add(store: Store, name: str, **values: object) -> int:
    return customers.add(store, build_draft({"name": name, **values})).id


def dump(store: Store, ids: list[int]) -> dict[str, Any]:
    """Every stored row of these customers, including interactions and derived tables."""
    marks = ",".join("?" * len(ids))
    out: dict[str, Any] = {}
    for table, where in (
        ("customers", "id"),
        ("phones", "customer_id"),
        ("emails", "customer_id"),
        ("tags", "customer_id"),
        ("interactions", "customer_id"),
        ("search_terms", "customer_id"),
        ("match_keys", "customer_id"),
    ):
        rows = store.query(f"SELECT * FROM {table} WHERE {where} IN ({marks})", ids)
        out[table] = sorted(tuple(r) for r in rows)
    return out


@pytest.fixture
def three(store: Store) -> list[int]:
    a = add(
        store,
        "张伟",
        company="深圳某某科技有限公司",
        phones=["13812345678", "010-58123456"],
        emails=["zhangwei@example.com"],
        tags=["展会"],
        status="lead",
        first_contact_on="2024-03-05",
        notes="春季展会认识",
    )
    b = add(
        store,
        "張偉",
        company="深圳某某科技",
        phones=["+86 138 1234 5678"],
        tags=["重点"],
        status="customer",
        city="深圳",
        first_contact_on="2023-12-01",
        notes="繁体录入",
    )
    c = add(store, "Zhang Wei", emails=["zw@example.cn"], grade="A", gender="male")
    interactions.log(store, a, "first call", channel="call", at="2024-03-06 10:00")
    interactions.log(store, b, "meeting", channel="meeting", at="2024-04-01 15:00")
    interactions.log(store, c, "mail", channel="email", at="2024-05-01 09:00")
    return [a, b, c]


def test_merge_keeps_everything(store: Store, three: list[int]) -> None:
    a, b, c = three
    result = merging.merge(store, [a, b, c], keep=a)
    assert result.survivor_id == a and [i for i, _ in result.merged] == [b, c]
    record, timeline = customers.profile(store, a, reveal=True)
    assert record["name"] == "张伟"  # the survivor's values win
    assert record["status"] == "customer"  # the most advanced
    assert record["first_contact_on"] == "2023-12-01"  # the earliest
    assert record["city"] == "深圳" and record["grade"] == "A" and record["gender"] == "male"
    assert sorted(record["phones"]) == ["+861058123456", "+8613812345678"]  # repeat dropped
    assert sorted(record["emails"]) == ["zhangwei@example.com", "zw@example.cn"]
    assert record["tags"] == ["展会", "重点"]
    assert "春季展会认识" in record["notes"] and "繁体录入" in record["notes"]
    assert sorted(t["summary"] for t in timeline) == ["first call", "mail", "meeting"]
    assert record["last_contacted_at"].startswith("2024-05-01")
    # merged-away ids still resolve to the survivor
    assert resolve(store, str(b)) == a and resolve(store, str(c)) == a
    actions = [r[0] for r in store.query("SELECT action FROM audit")]
    assert "merge" in actions
    # the merged-away records no longer take part in dedupe
    assert find_groups(store).groups == []


def test_unmerge_restores_every_row_exactly(store: Store, three: list[int]) -> None:
    before = dump(store, three)
    result = merging.merge(store, three)
    assert dump(store, three) != before
    plan = merging.unmerge(store, result.merge_id)
    assert plan.changes == []
    assert dump(store, three) == before
    assert merging.list_merges(store)[0]["undone_at"]
    with pytest.raises(InvalidInput, match="already undone"):
        merging.unmerge(store, result.merge_id)


def test_unmerge_after_the_survivor_changed_asks_and_keeps_new_things(
    store: Store, three: list[int]
) -> None:
    a, b, _c = three
    result = merging.merge(store, three, keep=a)
    customers.edit(store, a, build_draft({"city": "北京", "tags": ["vip"]}))
    interactions.log(store, a, "after the merge", at="2024-06-01 09:00")
    plan = merging.plan_unmerge(store, result.merge_id)
    assert any(ch.startswith("city") for ch in plan.changes)
    with pytest.raises(NeedsConfirmation, match="--force"):
        merging.unmerge(store, result.merge_id)
    merging.unmerge(store, result.merge_id, force=True)
    rec_a, timeline = customers.profile(store, a)
    assert "vip" in rec_a["tags"]  # added since: kept
    assert "after the merge" in [t["summary"] for t in timeline]
    assert resolve(store, str(b)) == b
    assert [t["summary"] for t in customers.profile(store, b)[1]] == ["meeting"]


def test_merge_refusals(store: Store, three: list[int]) -> None:
    a, b, c = three
    with pytest.raises(NotFound):
        merging.merge(store, [a, 999])
    with pytest.raises(UsageError, match="--keep"):
        merging.merge(store, [a, b], keep=c)
    merging.merge(store, [a, b])
    with pytest.raises(InvalidInput, match="already one customer"):
        merging.merge(store, [a, b])
    first = merging.list_merges(store)[0]["id"]
    second = merging.merge(store, [a, c]).merge_id
    with pytest.raises(UsageError, match="undo those first"):
        merging.unmerge(store, first)
    merging.unmerge(store, second)
    merging.unmerge(store, first)


def test_not_duplicates_are_remembered(store: Store) -> None:
    a = add(store, "Laura Chen", phones=["415.555.0172"])
    b = add(store, "Laura Chen", phones=["415.555.0172"])
    assert [g.members[0]["id"] for g in find_groups(store).groups] == [a]
    merging.mark_not_duplicates(store, [a, b])
    assert find_groups(store).groups == []


def test_likely_duplicates_of_a_draft(store: Store, three: list[int]) -> None:
    a, b, _c = three
    found = likely_duplicates_of(store, build_draft({"name": "张伟", "phones": ["13812345678"]}))
    assert [f[0] for f in found][:2] == [a, b]
    _customer_id, score, band, reasons = found[0]
    assert band == "likely" and score >= 8.5 and "mobile identical (+7)" in reasons
    assert likely_duplicates_of(store, build_draft({"name": "Peter Novak"})) == []


def test_keys_are_backfilled_for_rows_written_without_them(store: Store, three: list[int]) -> None:
    with store.write():
        store.conn.execute("DELETE FROM match_keys")
        store.set_meta("match_keys_version", "0")
    groups = find_groups(store).groups
    assert [m["id"] for m in groups[0].members] == three[:2]
    assert store.scalar("SELECT COUNT(DISTINCT customer_id) FROM match_keys") == 3
