"""The store and the everyday use cases on a fresh database, without Typer."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import date
from pathlib import Path

import pytest

from crmcli.errors import Ambiguous, InvalidInput, NotConfigured, NotFound, SensitiveDataRefused
from crmcli.migrations import SCHEMA_VERSION
from crmcli.models import build_draft
from crmcli.operations import customers, interactions
from crmcli.operations.search import resolve, search
from crmcli.store import Store, open_store
from crmcli.store.search import Filters


@pytest.fixture
def store(isolated: Path) -> Store:
    s = open_store(isolated, create=True)
    s.command = "test"
    return s


def add(store: Store, name: str, **values: object) -> int:
    return customers.add(store, build_draft({"name": name, **values})).id


def names(records: list[dict]) -> list[str]:
    return [r["name"] for r in records]


def test_new_database_is_private_wal_and_migrated(isolated: Path) -> None:
    s = open_store(isolated, create=True)
    assert stat.S_IMODE(os.stat(isolated).st_mode) == 0o600
    assert s.scalar("PRAGMA journal_mode") == "wal"
    assert s.schema_version() == SCHEMA_VERSION
    assert s.meta("db_id")


def test_a_larger_page_cache_lasts_only_its_block(store: Store) -> None:
    before = store.scalar("PRAGMA cache_size")
    with store.page_cache(64):
        assert store.scalar("PRAGMA cache_size") == -64 * 1024
    assert store.scalar("PRAGMA cache_size") == before
    with pytest.raises(RuntimeError), store.page_cache(64), store.write():
        raise RuntimeError("an import that fails")
    assert store.scalar("PRAGMA cache_size") == before


def test_missing_database_is_not_created_by_readers(isolated: Path) -> None:
    with pytest.raises(NotConfigured, match="crmcli init"):
        open_store(isolated)
    assert not isolated.exists()


def test_newer_schema_is_refused_untouched(isolated: Path) -> None:
    open_store(isolated, create=True).close()
    conn = sqlite3.connect(isolated)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = isolated.read_bytes()
    with pytest.raises(NotConfigured, match="newer crmcli"):
        open_store(isolated)
    assert isolated.read_bytes() == before


def test_add_normalises_and_masks(store: Store) -> None:
    cid = add(
        store,
        " 张伟 ",
        company="深圳某某科技有限公司",
        phones=["+86 138-1234-5678", "0755-8888 1234"],
        emails=[" Zhang.Wei@Example.COM "],
        status="意向客户",
        grade="a",
        tags=["VIP", "vip"],
        first_contact_on="2024年5月20日",
    )
    record, timeline = customers.profile(store, cid)
    assert record["name"] == "张伟"
    assert record["phones"] == ["138****5678", "755****1234"]
    assert record["emails"] == ["z***@example.com"]
    assert record["status"] == "prospect"
    assert record["grade"] == "A"
    assert record["tags"] == ["vip"]
    assert record["first_contact_on"] == "2024-05-20"
    assert timeline == []


def test_contacts_are_encrypted_at_rest(store: Store, isolated: Path) -> None:
    add(store, "Bob", phones=["13812345678"], emails=["bob@example.com"])
    store.close()
    raw = b"".join(p.read_bytes() for p in isolated.parent.glob("crm.db*"))
    assert b"13812345678" not in raw and b"12345678" not in raw
    assert b"bob@example.com" not in raw


def test_reveal_decrypts_and_is_audited(store: Store) -> None:
    cid = add(store, "Bob", phones=["138 1234 5678"], emails=["bob@example.com"])
    record, _ = customers.profile(store, cid, reveal=True)
    assert record["phones"] == ["+8613812345678"]
    assert record["emails"] == ["bob@example.com"]
    actions = [r["action"] for r in store.query("SELECT action FROM audit")]
    assert "reveal" in actions


def test_add_warns_about_lookalikes(store: Store) -> None:
    first = add(store, "张伟", phones=["13812345678"])
    result = customers.add(store, build_draft({"name": "張偉", "phones": ["+86 138 1234 5678"]}))
    assert [(x.id, x.reasons) for x in result.lookalikes] == [
        (
            first,
            ["likely duplicate, score 10.5", "mobile identical (+7)", "name same pinyin (+3.5)"],
        )
    ]
    same_company = customers.add(store, build_draft({"name": "John Smith", "company": "Acme Inc."}))
    assert same_company.lookalikes == []
    again = customers.add(
        store, build_draft({"name": "john smith", "company": "ACME Incorporated"})
    )
    assert [x.id for x in again.lookalikes] == [same_company.id]


def test_bad_input_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput, match="name"):
        customers.add(store, build_draft({"name": "  "}))
    with pytest.raises(InvalidInput, match="status"):
        build_draft({"name": "x", "status": "hot"})
    with pytest.raises(InvalidInput, match="date"):
        build_draft({"name": "x", "first_contact_on": "2024-02-30"})
    with pytest.raises(SensitiveDataRefused) as refused:
        build_draft({"name": "x", "notes": "card 4111 1111 1111 1111 ok"})
    assert "4111" not in refused.value.message.replace("ending 1111", "")


def test_external_id_is_unique(store: Store) -> None:
    add(store, "A", external_id="K001")
    with pytest.raises(InvalidInput, match="K001"):
        add(store, "B", external_id="K001")


def test_edit_changes_removes_and_clears(store: Store) -> None:
    cid = add(
        store, "Ann Lee", phones=["13812345678", "13900001111"], tags=["a", "b"], city="Paris"
    )
    diff = customers.edit(
        store,
        cid,
        build_draft({"company": "Acme", "tags": ["c"]}),
        clear=["city"],
        remove_tags=["a"],
        remove_phones=["+86 139 0000 1111"],
    )
    record, _ = customers.profile(store, cid)
    assert record["company"] == "Acme"
    assert record["city"] is None
    assert record["tags"] == ["b", "c"]
    assert record["phones"] == ["138****5678"]
    assert set(diff) >= {"company", "city", "tags", "phones"}
    with pytest.raises(InvalidInput, match="no phone"):
        customers.edit(store, cid, build_draft({}), remove_phones=["13700000000"])


def test_log_keeps_last_contact_and_follow_up(store: Store) -> None:
    cid = add(store, "Ann", next_follow_up_on="2020-01-01")
    interactions.log(store, cid, "first call", channel="电话", at="2024-05-20 10:00")
    interactions.log(store, cid, "older note", at="2023-01-01")
    record, timeline = customers.profile(store, cid)
    assert record["last_contacted_at"] == "2024-05-20T10:00:00Z"
    assert record["next_follow_up_on"] is None  # the due follow-up was done
    assert [t["summary"] for t in timeline] == ["first call", "older note"]
    interactions.log(store, cid, "meeting", channel="meeting", next_on="2030-01-02")
    record, _ = customers.profile(store, cid)
    assert record["next_follow_up_on"] == "2030-01-02"


def test_followups_most_overdue_first(store: Store) -> None:
    add(store, "Late", next_follow_up_on="2024-01-01")
    add(store, "Later", next_follow_up_on="2024-01-10")
    add(store, "Soon", next_follow_up_on="2024-01-15")
    due = interactions.followups(store, today=date(2024, 1, 12))
    assert [(r["name"], r["days_overdue"]) for r in due] == [("Late", 11), ("Later", 2)]
    ahead = interactions.followups(store, within=5, today=date(2024, 1, 12))
    assert names(ahead)[-1] == "Soon"


@pytest.fixture
def people(store: Store) -> Store:
    add(store, "张伟", company="深圳某某科技有限公司", phones=["13812345678"], city="深圳")
    add(store, "李伟", phones=["13900005678"], tags=["vip"])
    add(store, "John Smith", company="Acme Inc.", emails=["john@acme.com"], status="customer")
    add(store, "Johnny Walker", notes="likes golf")
    add(store, "王芳", company="某某贸易公司", status="lost")
    return store


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("张伟", ["张伟"]),
        ("zhangwei", ["张伟"]),
        ("zw", ["张伟"]),
        ("伟", ["张伟", "李伟"]),
        ("Jonh Smtih", ["John Smith"]),
        ("smith", ["John Smith"]),
        ("acme", ["John Smith"]),
        ("golf", ["Johnny Walker"]),
        ("5678", ["张伟", "李伟"]),
        ("13812345678", ["张伟"]),
        ("+86 138-1234-5678", ["张伟"]),
        ("john@acme.com", ["John Smith"]),
        ("vip", ["李伟"]),
        ("深圳", ["张伟"]),
        ("%", []),
        ('"', []),
        ("_", []),
    ],
)
def test_search_finds_by_any_fragment(people: Store, query: str, expected: list[str]) -> None:
    assert sorted(names(search(people, query, Filters()))) == sorted(expected)


def test_search_ranks_exact_before_prefix_before_fuzzy(people: Store) -> None:
    found = search(people, "john", Filters())
    assert names(found)[:2] == ["John Smith", "Johnny Walker"] or names(found)[0] in (
        "John Smith",
        "Johnny Walker",
    )
    assert [r["match"] for r in search(people, "John Smith", Filters())][:1] == ["exact"]


def test_search_filters_and_listing(people: Store) -> None:
    assert names(search(people, None, Filters(statuses=["lost"]))) == ["王芳"]
    assert names(search(people, "伟", Filters(tags=["vip"]))) == ["李伟"]
    assert len(search(people, None, Filters())) == 5


def test_archive_hides_and_restore_returns(people: Store) -> None:
    cid = resolve(people, "王芳")
    customers.set_archived(people, [cid], True)
    assert "王芳" not in names(search(people, None, Filters()))
    assert names(search(people, None, Filters(archived=True))) == ["王芳"]
    customers.set_archived(people, [cid], False)
    assert "王芳" in names(search(people, None, Filters()))


def test_resolve_by_id_name_phone_and_ambiguity(people: Store) -> None:
    assert resolve(people, "1") == 1
    assert resolve(people, "John Smith") == 3
    assert resolve(people, "13812345678") == 1
    with pytest.raises(Ambiguous) as many:
        resolve(people, "伟")
    assert {c["name"] for c in many.value.candidates} == {"张伟", "李伟"}
    with pytest.raises(NotFound):
        resolve(people, "999")
    with pytest.raises(NotFound):
        resolve(people, "nobody-like-this")


def test_delete_removes_everything_but_audits(people: Store) -> None:
    cid = resolve(people, "John Smith")
    interactions.log(people, cid, "call")
    customers.delete(people, cid)
    with pytest.raises(NotFound):
        resolve(people, str(cid))
    assert people.scalar("SELECT COUNT(*) FROM interactions WHERE customer_id = ?", (cid,)) == 0
    assert people.scalar("SELECT COUNT(*) FROM search_terms WHERE customer_id = ?", (cid,)) == 0
    actions = [r[0] for r in people.query("SELECT action FROM audit WHERE customer_id = ?", (cid,))]
    assert actions[-1] == "delete"


def test_audit_is_append_only(people: Store) -> None:
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        people.conn.execute("DELETE FROM audit")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        people.conn.execute("UPDATE audit SET action = 'x'")


def test_phones_sharing_only_their_last_8_digits_are_different(store: Store) -> None:
    first = add(store, "Ann", phones=["13812345678"])
    add(store, "Bob", phones=["13912345678"])
    assert names(search(store, "13812345678", Filters())) == ["Ann"]
    local = add(store, "Cid", phones=["8888 1234"])  # no area code: no E.164 form
    assert first != local
    assert resolve(store, "+86 755 8888 1234") == local
