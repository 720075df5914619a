"""Revealing contact details in bulk: `store.contacts.decrypted_contacts` and its helpers.

The fast paths (range scans, the phone payload read without JSON) must give exactly what the
plain way gives: one `Vault.decrypt` and one `json.loads` per value, read in `IN (...)` chunks.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcli.credentials import Vault, new_master_key
from crmcli.errors import InvalidInput, WrongKey
from crmcli.models import build_draft
from crmcli.operations import customers
from crmcli.phone_numbers import Phone
from crmcli.store import Store, open_store
from crmcli.store import contacts as contacts_db


@pytest.fixture
def store(isolated: Path) -> Store:
    s = open_store(isolated, create=True)
    s.command = "test"
    return s


def reference(store: Store, ids: list[int], vault: Vault) -> dict[int, dict]:
    """What decrypted_contacts gives, the slow and obvious way."""
    out: dict[int, dict] = {i: {"phones": [], "emails": []} for i in ids}
    for i in set(ids):
        for (blob,) in store.query(
            "SELECT value_enc FROM phones WHERE customer_id = ? ORDER BY position", (i,)
        ):
            value = json.loads(vault.decrypt(blob, context="phone"))
            shown = value["e164"] or value["raw"]
            if value.get("ext"):
                shown += f" ext. {value['ext']}"
            out[i]["phones"].append(shown)
        for (blob,) in store.query(
            "SELECT value_enc FROM emails WHERE customer_id = ? ORDER BY position", (i,)
        ):
            out[i]["emails"].append(vault.decrypt(blob, context="email"))
    return out


@pytest.fixture
def people(store: Store) -> list[int]:
    ids = []
    for n in range(40):
        values: dict[str, object] = {"name": f"Person {n}"}
        if n % 5:
            values["phones"] = [f"138 {n:04d} {n * 7 % 10000:04d}", f"0755-8888 {n:04d} 转{n}"][
                : 1 + n % 2
            ]
        if n % 3:
            values["emails"] = [f"p{n}@example.com", f"other.{n}@example.org"][: 1 + n % 2]
        if n == 7:
            values["phones"] = ["12345", "+1 (202) 555-0100 x12"]  # no E.164 form; extension
        ids.append(customers.add(store, build_draft(values)).id)
    return ids


@pytest.mark.parametrize(
    "pick",
    [
        lambda ids: ids,  # every customer: one range scan, nothing to filter
        lambda ids: ids[5:30],  # a run of consecutive ids (an export chunk)
        lambda ids: [i for i in ids if i % 3],  # dense with holes: a range scan, filtered
        lambda ids: ids[::7],  # sparse: IN (...) chunks
        lambda ids: [ids[3], ids[3], ids[9], 10_000],  # repeats, an unknown id
        lambda ids: list(reversed(ids)),
        lambda ids: [],
    ],
)
def test_decrypted_contacts_equals_the_plain_way(
    store: Store, people: list[int], pick: Callable[[list[int]], list[int]]
) -> None:
    ids = pick(people)
    vault = store.vault()
    got = contacts_db.decrypted_contacts(store, ids, vault)
    assert got == reference(store, ids, vault)
    assert list(got) == list(dict.fromkeys(ids))


def test_decrypted_contacts_keeps_the_order_and_formats(store: Store, people: list[int]) -> None:
    got = contacts_db.decrypted_contacts(store, [people[7], people[11]], store.vault())
    assert got[people[7]]["phones"] == ["12345", "+12025550100 ext. 12"]
    assert got[people[11]]["phones"] == ["+8613800110077", "+8675588880011 ext. 11"]
    assert got[people[11]]["emails"] == ["p11@example.com", "other.11@example.org"]


def test_contact_rows_chooses_a_range_or_chunks(store: Store, people: list[int]) -> None:
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        rows = [r for b in contacts_db.contact_rows(store, "phones", people[::2]) for r in b]
        assert statements[-1].count("BETWEEN") == 1
        assert {r[0] for r in rows} <= set(people[::2])
        sparse = people[::9]
        rows = [r for b in contacts_db.contact_rows(store, "emails", sparse) for r in b]
        assert " IN (" in statements[-1]
        assert {r[0] for r in rows} <= set(sparse)
    finally:
        store.conn.set_trace_callback(None)


def test_a_wrong_key_and_a_damaged_value(store: Store, people: list[int]) -> None:
    with pytest.raises(WrongKey):
        contacts_db.decrypted_contacts(store, people, Vault(new_master_key()))
    assert gc.isenabled()
    with store.write():
        store.conn.execute(
            "UPDATE emails SET value_enc = x'0102' WHERE id = (SELECT MIN(id) FROM emails)"
        )
    with pytest.raises(InvalidInput, match="damaged"):
        contacts_db.decrypted_contacts(store, people, store.vault())
    assert gc.isenabled()


def test_the_collector_is_left_as_it_was(store: Store, people: list[int]) -> None:
    gc.disable()
    try:
        contacts_db.decrypted_contacts(store, people, store.vault())
        assert not gc.isenabled()
    finally:
        gc.enable()
    contacts_db.decrypted_contacts(store, people, store.vault())
    assert gc.isenabled()


def test_decrypt_many_takes_memoryviews() -> None:
    vault = Vault(new_master_key())
    blobs = [vault.encrypt(v, context="email") for v in ("a@b.c", "日本@例え.jp")]
    assert vault.decrypt_many(map(memoryview, blobs), context="email") == ["a@b.c", "日本@例え.jp"]


# -- the phone payload ------------------------------------------------------------------


def _shown_by_json(payload: str) -> str:
    value = json.loads(payload)
    shown: str = value["e164"] or value["raw"]
    if value.get("ext"):
        shown += f" ext. {value['ext']}"
    return shown


_text = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ['"', '\\"', "\\", '", "e164": "', '", "ext": null}', "null", "ext", "a\x00b", "转801"]
)


@given(
    raw=_text,
    e164=st.none() | st.just("") | st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True) | _text,
    ext=st.none() | st.just("") | _text,
)
def test_shown_phone_reads_every_payload_as_json_does(
    raw: str, e164: str | None, ext: str | None
) -> None:
    phone = Phone(raw=raw, e164=e164, extension=ext, digits="")
    payload = contacts_db.phone_payload(phone)
    # Written as json.dumps writes it, byte for byte (stored payloads predate the fast path).
    assert payload == json.dumps({"raw": raw, "e164": e164, "ext": ext}, ensure_ascii=False)
    assert contacts_db.shown_phone(payload) == _shown_by_json(payload)
    value = json.loads(payload)  # what dedupe reads: the fields themselves
    assert contacts_db.phone_fields(payload) == (value["raw"], value["e164"], value["ext"])


@pytest.mark.parametrize(
    "payload",
    [
        '{"raw": "138 1234 5678", "e164": "+8613812345678", "ext": null}',  # the usual one
        '{"raw": "12345", "e164": null, "ext": null}',
        '{"raw": "12345", "e164": null, "ext": "9"}',
        '{"raw": "x", "e164": "+12025550100", "ext": "12"}',
        '{"raw": "a\\"b", "e164": "", "ext": null}',
        '{"raw": "a\\\\", "e164": "", "ext": null}',  # a backslash: never read by splitting
        '{"e164": "+8613812345678", "raw": "138", "ext": null}',  # other key order
        '{"raw":"1","e164":"+1","ext":null}',  # other spacing
    ],
)
def test_shown_phone_on_written_and_other_payloads(payload: str) -> None:
    assert contacts_db.shown_phone(payload) == _shown_by_json(payload)
    value = json.loads(payload)
    assert contacts_db.phone_fields(payload) == (value["raw"], value["e164"], value["ext"])
