"""Sealed contacts (`crmcli.store.sealed`): one blob per customer, never stale.

The triggers unseal a customer whenever one of its phone or e-mail rows changes; a write that
holds the key seals again before committing; every reader gives exactly what the rows give.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcli.credentials import Vault, new_master_key
from crmcli.errors import CrmError, InvalidInput, NotConfigured, WrongKey
from crmcli.models import build_draft
from crmcli.operations import customers, dedupe, interactions, merging
from crmcli.store import Store, open_store, sealed
from crmcli.store import contacts as contacts_db
from crmcli.store import customers as customers_db


@pytest.fixture
def store(isolated: Path) -> Store:
    s = open_store(isolated, create=True)
    s.command = "test"
    return s


def keyless(path: Path) -> Store:
    """Another connection that never opens the vault (as `log`, `archive`, `stale` run)."""
    s = open_store(path)
    s.command = "test"
    return s


def add(store: Store, name: str, **values: object) -> int:
    return customers.add(store, build_draft({"name": name, **values})).id


def blobs(store: Store) -> dict[int, bytes | None]:
    return {
        r[0]: r[1] for r in store.query("SELECT customer_id, contacts_enc FROM contacts_sealed")
    }


def assert_reads_agree(store: Store, vault: Vault) -> None:
    """Every reader, from the blobs, gives what the rows give."""
    ids = [r[0] for r in store.query("SELECT id FROM customers")] + [10_000]
    assert sealed.contacts(store, ids, vault) == sealed.from_rows(store, ids, vault)
    got = contacts_db.decrypted_contacts(store, ids, vault)
    for i in ids:
        phones, emails = sealed.from_rows(store, [i], vault)[i]
        assert got[i] == {"phones": [contacts_db.shown_phone(p) for p in phones], "emails": emails}


def _rows_only(store: Store) -> None:
    """Unseal everyone without the key (a keyless connection: its commit seals nothing)."""
    with keyless(store.path) as other, other.write():
        other.conn.execute("UPDATE contacts_sealed SET contacts_enc = NULL")


# -- the schema --------------------------------------------------------------------------


def test_each_trigger_unseals_only_the_customers_touched(store: Store) -> None:
    a = add(store, "Alice", phones=["13812345678"], emails=["a@example.com"])
    b = add(store, "Bob", phones=["13912345678"])
    c = add(store, "Carol")
    assert all(v is not None for v in blobs(store).values())  # a customer with nothing too
    raw = store.conn

    def after(sql: str, params: tuple = ()) -> set[int]:
        with store.write():  # sealed again on commit (this store holds the key) ...
            raw.execute(sql, params)
            unsealed = {i for i, v in blobs(store).items() if v is None}
        assert all(v is not None for v in blobs(store).values())  # ... so never left stale
        return unsealed

    assert after("UPDATE phones SET position = 5 WHERE customer_id = ?", (a,)) == {a}
    assert after("UPDATE phones SET customer_id = ? WHERE customer_id = ?", (c, b)) == {b, c}
    assert after("DELETE FROM phones WHERE customer_id = ?", (c,)) == {c}
    assert after(
        "INSERT INTO phones (customer_id, position, value_enc, masked, tail8_hash, tail4)"
        " SELECT ?, 9, value_enc, masked, tail8_hash, tail4 FROM phones WHERE customer_id = ?",
        (b, a),
    ) == {b}
    assert after("UPDATE emails SET masked = 'x' WHERE customer_id = ?", (a,)) == {a}
    assert after("UPDATE emails SET customer_id = ? WHERE customer_id = ?", (c, a)) == {a, c}
    assert after("DELETE FROM emails WHERE customer_id = ?", (c,)) == {c}
    assert after(
        "INSERT INTO emails (customer_id, position, value_enc, masked, hash)"
        " VALUES (?, 0, ?, 'x', 'h')",
        (a, store.vault().encrypt("z@example.com", context="email")),
    ) == {a}
    assert after("UPDATE customers SET notes = 'n' WHERE id = ?", (b,)) == set()
    # A new customer has a row from the start (unsealed until its transaction commits) ...
    d = add(store, "Dave")
    assert blobs(store)[d] is not None
    # ... and a deleted one leaves none behind.
    customers.delete(store, d)
    assert d not in blobs(store)


def test_an_existing_database_starts_unsealed_and_the_next_keyed_write_seals(
    store: Store, isolated: Path
) -> None:
    ids = [
        add(store, f"P{n}", phones=[f"1381234{n:04d}"], emails=[f"p{n}@x.com"]) for n in range(5)
    ]
    vault = store.vault()
    expected = sealed.from_rows(store, ids, vault)
    store.close()
    # Back to schema 3, as a database written before sealed contacts.
    conn = sqlite3.connect(isolated)
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%contacts_sealed%'"
    ).fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DROP TABLE contacts_sealed")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm004_sealed_contacts'")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    with open_store(isolated) as again:
        assert sealed.unsealed_count(again) == len(ids)
        vault = again.vault()
        assert sealed.contacts(again, ids, vault) == expected  # from the rows
        interactions.log(again, ids[0], "a call")  # a write with the key open seals everyone
        assert sealed.unsealed_count(again) == 0
        assert sealed.contacts(again, ids, vault) == expected  # from the blobs


# -- sealing happens on keyed writes only --------------------------------------------------


def test_a_keyless_write_never_loads_the_key(store: Store, isolated: Path, tmp_path: Path) -> None:
    a = add(store, "Alice", phones=["13812345678"])
    with store.write():
        store.conn.execute("UPDATE phones SET position = 1")
    with keyless(isolated) as other, other.write():
        other.conn.execute("UPDATE phones SET position = 2")
    # No key anywhere now: a keyless write must not need one (the nightly script's case).
    for path in (tmp_path / "config").rglob("*.key"):
        path.unlink()
    with keyless(isolated) as other:
        interactions.log(other, a, "called")
        merging.mark_not_duplicates(other, [a, add(other, "Bob")])
        assert sealed.unsealed_count(other) == 2  # Alice changed, Bob new: they wait for the key
        with pytest.raises(NotConfigured):
            other.vault(interactive=False)


def test_reading_never_writes(store: Store) -> None:
    a = add(store, "Alice", phones=["13812345678"])
    with keyless(store.path) as other, other.write():
        other.conn.execute("UPDATE phones SET position = 1")
    before = store.conn.total_changes
    contacts_db.decrypted_contacts(store, [a], store.vault())
    dedupe.load_records(store, [a], store.vault())
    assert store.conn.total_changes == before
    assert sealed.unsealed_count(store) == 1


def test_sealed_customers_are_read_from_their_blobs_alone(store: Store) -> None:
    ids = [
        add(store, f"P{n}", phones=[f"138 1234 {n:04d}"], emails=[f"p{n}@x.com"]) for n in range(3)
    ]
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        got = contacts_db.decrypted_contacts(store, ids, store.vault())
    finally:
        store.conn.set_trace_callback(None)
    assert got[ids[2]] == {"phones": ["+8613812340002"], "emails": ["p2@x.com"]}
    assert any("contacts_sealed" in s for s in statements)
    assert not any("FROM phones" in s or "FROM emails" in s for s in statements)


@pytest.mark.parametrize("load", [False, True])
def test_a_bulk_insert_seals_its_customers_from_the_values_it_writes(
    store: Store, load: bool
) -> None:
    """`bulk.insert_customers` seals as it writes: nothing is left for `seal_missing`, and the
    blobs hold exactly the rows (ordered by position; a customer without contacts too). So
    also in a load into the empty database, with the trigger that makes the rows put off."""
    from crmcli.phone_numbers import parse_phone
    from crmcli.store import bulk, bulk_load

    vault = store.vault()
    upkeep = bulk_load.deferred_upkeep if load else lambda _: contextlib.nullcontext(False)
    with store.write(), upkeep(store) as deferred:
        assert deferred == load
        first = bulk.next_customer_id(store)
        batch = [
            bulk.NewCustomer(
                first + n,
                {"name": f"P{n}", "kind": "person", "status": "lead"},
                phones=[parse_phone(f"138 1234 {n:04d}"), parse_phone('010 "8888" 1234 ext 9')][
                    : n % 3
                ],
                emails=[f"p{n}@x.com", f"q{n}@x.com"][: n % 2 + 1],
            )
            for n in range(5)
        ]
        bulk.insert_customers(store, batch, vault, "2026-01-01T00:00:00Z")
        assert sealed.unsealed_count(store) == 0
        assert store.scalar("SELECT COUNT(*) FROM contacts_sealed") == 5
    assert_reads_agree(store, vault)


def test_a_seal_that_fails_rolls_back_the_transaction(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = add(store, "Alice", phones=["13812345678"])

    def boom(*_: object) -> int:
        raise RuntimeError("killed while sealing")

    monkeypatch.setattr(sealed, "seal_missing", boom)
    with pytest.raises(RuntimeError):
        customers.edit(store, a, build_draft({"emails": ["a@example.com"]}))
    monkeypatch.undo()
    assert store.query("SELECT COUNT(*) FROM emails")[0][0] == 0
    assert sealed.unsealed_count(store) == 0


def test_a_damaged_row_stays_unsealed_and_blocks_no_write(store: Store) -> None:
    a = add(store, "Alice", emails=["a@example.com"])
    b = add(store, "Bob", phones=["13812345678"])
    with store.write():
        store.conn.execute("UPDATE emails SET value_enc = x'0102' WHERE customer_id = ?", (a,))
    assert {i for i, v in blobs(store).items() if v is None} == {a}
    customers.edit(store, b, build_draft({"emails": ["b@example.com"]}))  # still writes
    with pytest.raises(InvalidInput, match="damaged"):
        contacts_db.decrypted_contacts(store, [a, b], store.vault())
    assert contacts_db.decrypted_contacts(store, [b], store.vault())[b]["emails"] == [
        "b@example.com"
    ]


# -- a blob is trusted only when it opens ----------------------------------------------------


def test_a_blob_moved_to_another_customer_or_damaged_is_not_trusted(store: Store) -> None:
    a = add(store, "Alice", phones=["13812345678"], emails=["a@example.com"])
    b = add(store, "Bob", phones=["13912345678"])
    vault = store.vault()
    with keyless(store.path) as other, other.write():
        other.conn.execute(
            "UPDATE contacts_sealed SET contacts_enc ="
            " (SELECT contacts_enc FROM contacts_sealed WHERE customer_id = ?)"
            " WHERE customer_id = ?",
            (a, b),
        )
    assert sealed.contacts(store, [a, b], vault) == sealed.from_rows(store, [a, b], vault)
    with keyless(store.path) as other, other.write():
        other.conn.execute(
            "UPDATE contacts_sealed SET contacts_enc = x'00' WHERE customer_id = ?", (a,)
        )
    assert sealed.contacts(store, [a, b], vault) == sealed.from_rows(store, [a, b], vault)
    with pytest.raises(WrongKey):  # another key: the rows say so
        sealed.contacts(store, [a, b], Vault(new_master_key()))


@pytest.mark.parametrize(
    ("phones", "emails"),
    [([], []), (["p"], []), ([], ["e"]), (["p", "q"], ["e", "f"]), (["日本"], ["例え@x.jp"])],
)
def test_pack_round_trips(phones: list[str], emails: list[str]) -> None:
    text = sealed.pack(phones, emails)
    assert text is not None and sealed.unpack(text) == (phones, emails)


@pytest.mark.parametrize("bad", ["", "a\x1eb", "a\x1db"])
def test_values_that_cannot_be_packed_are_refused(bad: str) -> None:
    assert sealed.pack([bad], []) is None
    assert sealed.pack([], [bad]) is None


def test_the_separators_never_occur_in_stored_values() -> None:
    from crmcli.normalize import normalize_email
    from crmcli.phone_numbers import Phone

    payload = contacts_db.phone_payload(
        Phone(raw="a\x1d\x1eb", e164=None, extension="\x1e", digits="")
    )
    assert sealed.ITEMS not in payload and sealed.LISTS not in payload
    for text in ("a\x1e@b.com", "a@b\x1d.com"):
        try:
            email = normalize_email(text)
        except InvalidInput:
            continue
        assert sealed.ITEMS not in email and sealed.LISTS not in email


# -- every reader gives what the rows give, whatever happened before ---------------------------

_PHONES = st.sampled_from(
    [
        "13812345678",
        "+86 138 1234 5678",
        "010-58123456",
        "(415) 555-0134",
        "12345",
        "+1 (202) 555-0100 x12",
        "0755-8888 0001 转9",
        "139 0000 1111",
    ]
)
_EMAILS = st.sampled_from(
    ["a@example.com", "b@example.org", "zhang.wei@例え.jp", "x@y.cn", "bob@acme.com"]
)
_WHO = st.integers(0, 20)
_ADD = st.tuples(st.just("add"), st.lists(_PHONES, max_size=3), st.lists(_EMAILS, max_size=2))
_STEPS = st.lists(
    st.one_of(
        _ADD,
        st.tuples(st.just("add phone"), _WHO, _PHONES),
        st.tuples(st.just("add email"), _WHO, _EMAILS),
        st.tuples(st.just("clear phones"), _WHO),
        st.tuples(st.just("clear emails"), _WHO),
        st.tuples(st.just("merge"), _WHO, _WHO),
        st.tuples(st.just("unmerge"), _WHO),
        st.tuples(st.just("log"), _WHO),  # a write without the key
        st.tuples(st.just("move phones keyless"), _WHO, _WHO),  # rows changed, no key
        st.tuples(st.just("delete"), _WHO),
    ),
    min_size=1,
    max_size=10,
)


def _apply(store: Store, other: Store, ids: list[int], step: tuple) -> None:
    what = step[0]
    if what == "add":
        values: dict[str, object] = {"name": f"C{len(ids)}"}
        if step[1]:
            values["phones"] = step[1]
        if step[2]:
            values["emails"] = step[2]
        ids.append(customers.add(store, build_draft(values)).id)
        return
    live = [i for i in ids if customers_db.survivor_of(store, i) == i]
    if not live:
        return
    who = live[step[1] % len(live)]
    if what == "add phone":
        customers.edit(store, who, build_draft({"phones": [step[2]]}))
    elif what == "add email":
        customers.edit(store, who, build_draft({"emails": [step[2]]}))
    elif what in ("clear phones", "clear emails"):
        customers.edit(store, who, build_draft({}), clear=[what.split()[1]])
    elif what == "merge":
        other_one = live[step[2] % len(live)]
        if other_one != who:
            merging.merge(other if step[2] % 2 else store, [who, other_one])
    elif what == "unmerge":
        done = store.query("SELECT id FROM merges WHERE undone_at IS NULL ORDER BY id DESC")
        if done:
            with contextlib.suppress(CrmError):  # its survivor deleted since, a later merge
                merging.unmerge(store if step[1] % 2 else other, done[0][0], force=True)
    elif what == "log":
        interactions.log(other, who, "called")
    elif what == "move phones keyless":
        to = live[step[2] % len(live)]
        with other.write():
            other.conn.execute(
                "UPDATE phones SET customer_id = ?, position = position + 100"
                " WHERE customer_id = ?",
                (to, who),
            )
    elif what == "delete":
        customers.delete(other, who)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=st.lists(_ADD, min_size=2, max_size=4), steps=_STEPS)
def test_sealed_reads_equal_row_reads_after_any_edits(
    first: list[tuple], steps: list[tuple]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crm.db"
        with open_store(path, create=True) as store, keyless(path) as other:
            store.command = "test"
            vault = store.vault()
            ids: list[int] = []
            for step in first + steps:
                _apply(store, other, ids, step)
                assert_reads_agree(store, vault)
            _rows_only(store)
            assert_reads_agree(store, vault)
            with store.write():  # a keyed write seals everyone again
                pass
            assert sealed.unsealed_count(store) == 0
            assert_reads_agree(store, vault)
