"""Customer rows and what hangs off them: phones, emails, tags and the search index.

Phones and emails are written encrypted with a keyed hash and a masked copy beside them
(`crmcli.credentials.Vault`); every read for listings uses only the masked copy, so listing
and reporting never need the key (reading them back decrypted is `store.contacts`). Callers
hold the write transaction (`Store.write`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from crmcli.store import Store, now_utc
from crmcli.store.contacts import phone_payload

if TYPE_CHECKING:
    from crmcli.credentials import Vault
    from crmcli.phone_numbers import Phone
    from crmcli.searching import IndexEntry

# Columns a caller may set directly (the rest are derived or managed by the store).
EDITABLE = (
    "external_id",
    "kind",
    "name",
    "company",
    "status",
    "grade",
    "source",
    "industry",
    "city",
    "gender",
    "budget",
    "needs",
    "notes",
    "first_contact_on",
    "next_follow_up_on",
)


def _derived(fields: dict[str, Any]) -> dict[str, Any]:
    from crmcli import matching

    name = fields["name"]
    pinyin = matching.pinyin_of(name)
    return {
        "name_key": matching.name_key(name),
        "pinyin": pinyin[0] if pinyin else None,
        "pinyin_initials": pinyin[1] if pinyin else None,
        "company_key": matching.company_key(fields["company"]) if fields.get("company") else None,
    }


def new_row(fields: dict[str, Any], stamp: str) -> dict[str, Any]:
    """The customers-table row of a new customer (editable fields, derived keys, stamps).

    The one definition of what a new row stores: `insert` and the bulk import both use it.
    """
    row = {k: fields.get(k) for k in EDITABLE}
    row.update(_derived(row))
    row["created_at"] = row["updated_at"] = stamp
    if fields.get("last_contacted_at"):
        row["last_contacted_at"] = fields["last_contacted_at"]
    return row


def next_id(store: Store) -> int:
    """The id of the next new customer. Never a deleted customer's: the audit trail, the merge
    journal and "not duplicates" decisions keep old ids, and a newcomer must not inherit them
    (SQLite alone would reuse the highest id once it is deleted: no AUTOINCREMENT here)."""
    return 1 + int(
        store.scalar(
            "SELECT MAX(COALESCE((SELECT MAX(id) FROM customers), 0),"
            " COALESCE((SELECT MAX(customer_id) FROM audit), 0))"
        )
    )


def insert(
    store: Store,
    fields: dict[str, Any],
    *,
    phones: Sequence[Phone] = (),
    emails: Sequence[str] = (),
    tags: Iterable[str] = (),
    vault: Vault | None = None,
    created_at: str | None = None,
) -> int:
    """Insert one customer with its contact details and index it; returns the new id."""
    row = {"id": next_id(store), **new_row(fields, created_at or now_utc())}
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    cursor = store.conn.execute(
        f"INSERT INTO customers ({columns}) VALUES ({marks})", list(row.values())
    )
    customer_id = int(cursor.lastrowid or 0)
    if phones or emails:
        assert vault is not None, "contact details need the key"
        add_phones(store, customer_id, phones, vault)
        add_emails(store, customer_id, emails, vault)
    set_tags(store, customer_id, tags)
    reindex(store, customer_id)
    return customer_id


def update(store: Store, customer_id: int, changes: dict[str, Any]) -> None:
    """Set editable fields (None clears), refresh derived keys and the index."""
    changes = {k: v for k, v in changes.items() if k in EDITABLE}
    current = fetch_row(store, customer_id)
    assert current is not None
    merged = {**{k: current[k] for k in EDITABLE}, **changes}
    changes.update(_derived(merged))
    changes["updated_at"] = now_utc()
    assignments = ", ".join(f"{k} = ?" for k in changes)
    store.conn.execute(
        f"UPDATE customers SET {assignments} WHERE id = ?", [*changes.values(), customer_id]
    )
    reindex(store, customer_id)


# -- contact details --------------------------------------------------------------------


def add_phones(store: Store, customer_id: int, phones: Sequence[Phone], vault: Vault) -> None:
    start = store.scalar(
        "SELECT COALESCE(MAX(position) + 1, 0) FROM phones WHERE customer_id = ?", (customer_id,)
    )
    store.conn.executemany(
        PHONE_INSERT,
        [phone_params(customer_id, start + i, phone, vault) for i, phone in enumerate(phones)],
    )


PHONE_INSERT = (
    "INSERT INTO phones (customer_id, position, value_enc, masked, e164_hash, tail8_hash, tail4)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
EMAIL_INSERT = (
    "INSERT INTO emails (customer_id, position, value_enc, masked, hash) VALUES (?, ?, ?, ?, ?)"
)


def phone_params(customer_id: int, position: int, phone: Phone, vault: Vault) -> tuple:
    """One phones row for PHONE_INSERT: ciphertext, masked copy, keyed hashes, last four."""
    return (customer_id, *phone_values(position, phone, vault))


def phone_values(position: int, phone: Phone, vault: Vault, payload: str | None = None) -> tuple:
    """PHONE_INSERT's values after the customer id (a bulk import computes them before it
    knows whether, and under which id, the row becomes a customer). `payload`: the phone's
    `phone_payload`, when the caller has it already."""
    return (
        position,
        vault.encrypt(phone_payload(phone) if payload is None else payload, context="phone"),
        phone.masked,
        vault.blind("e164", phone.e164) if phone.e164 else None,
        vault.blind("tail8", phone.tail8),
        phone.digits[-4:],
    )


def email_params(customer_id: int, position: int, email: str, vault: Vault) -> tuple:
    """One emails row for EMAIL_INSERT: ciphertext, masked copy, keyed hash."""
    return (customer_id, *email_values(position, email, vault))


def email_values(position: int, email: str, vault: Vault) -> tuple:
    """EMAIL_INSERT's values after the customer id (see `phone_values`)."""
    from crmcli.normalize import mask_email

    return (
        position,
        vault.encrypt(email, context="email"),
        mask_email(email),
        vault.blind("email", email),
    )


def add_emails(store: Store, customer_id: int, emails: Sequence[str], vault: Vault) -> None:
    start = store.scalar(
        "SELECT COALESCE(MAX(position) + 1, 0) FROM emails WHERE customer_id = ?", (customer_id,)
    )
    store.conn.executemany(
        EMAIL_INSERT,
        [email_params(customer_id, start + i, email, vault) for i, email in enumerate(emails)],
    )


def phone_hashes(store: Store, customer_id: int) -> list[sqlite3.Row]:
    return store.query(
        "SELECT id, e164_hash, tail8_hash, masked FROM phones WHERE customer_id = ?"
        " ORDER BY position",
        (customer_id,),
    )


def email_hashes(store: Store, customer_id: int) -> list[sqlite3.Row]:
    return store.query(
        "SELECT id, hash, masked FROM emails WHERE customer_id = ? ORDER BY position",
        (customer_id,),
    )


def delete_phone_rows(store: Store, ids: Iterable[int]) -> None:
    store.conn.executemany("DELETE FROM phones WHERE id = ?", [(i,) for i in ids])


def delete_email_rows(store: Store, ids: Iterable[int]) -> None:
    store.conn.executemany("DELETE FROM emails WHERE id = ?", [(i,) for i in ids])


def customers_with_phone(store: Store, e164_hash: str | None, tail8_hash: str) -> list[int]:
    """Live customers holding a phone equal to this one.

    Equal means the same E.164 number; the last 8 digits decide only when one side has no
    E.164 form (a bare local number), since 13812345678 and 13912345678 share theirs.
    """
    rows = store.query(
        "SELECT DISTINCT c.id FROM phones p JOIN customers c ON c.id = p.customer_id"
        " WHERE (p.e164_hash = ?1 OR (p.tail8_hash = ?2 AND (p.e164_hash IS NULL OR ?1 IS NULL)))"
        " AND c.merged_into IS NULL",
        (e164_hash, tail8_hash),
    )
    return [r[0] for r in rows]


def customers_with_email(store: Store, email_hash: str) -> list[int]:
    rows = store.query(
        "SELECT DISTINCT c.id FROM emails e JOIN customers c ON c.id = e.customer_id"
        " WHERE e.hash = ? AND c.merged_into IS NULL",
        (email_hash,),
    )
    return [r[0] for r in rows]


def customers_with_phone_tail4(store: Store, tail4: str) -> list[int]:
    rows = store.query(
        "SELECT DISTINCT c.id FROM phones p JOIN customers c ON c.id = p.customer_id"
        " WHERE p.tail4 = ? AND c.merged_into IS NULL",
        (tail4,),
    )
    return [r[0] for r in rows]


# -- tags -------------------------------------------------------------------------------


def set_tags(store: Store, customer_id: int, tags: Iterable[str]) -> None:
    store.conn.executemany(
        "INSERT OR IGNORE INTO tags (customer_id, tag) VALUES (?, ?)",
        [(customer_id, t) for t in tags],
    )


def remove_tags(store: Store, customer_id: int, tags: Iterable[str]) -> None:
    store.conn.executemany(
        "DELETE FROM tags WHERE customer_id = ? AND tag = ?", [(customer_id, t) for t in tags]
    )


# -- reading ----------------------------------------------------------------------------


def fetch_row(store: Store, customer_id: int) -> sqlite3.Row | None:
    rows = store.query("SELECT * FROM customers WHERE id = ?", (customer_id,))
    return rows[0] if rows else None


def survivor_of(store: Store, customer_id: int) -> int | None:
    """Follow merged-away ids to the customer that absorbed them (None: no such id)."""
    seen: set[int] = set()
    current: int | None = customer_id
    while current is not None and current not in seen:
        seen.add(current)
        row = store.query("SELECT merged_into FROM customers WHERE id = ?", (current,))
        if not row:
            return None
        if row[0][0] is None:
            return current
        current = row[0][0]
    return None


def _chunks(ids: Sequence[int], size: int = 900) -> Iterable[list[int]]:
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def records(store: Store, customer_ids: Sequence[int]) -> list[dict]:
    """Full records (masked contacts, tags) in the order of `customer_ids`."""
    by_id: dict[int, dict] = {}
    for chunk in _chunks(customer_ids):
        marks = ",".join("?" * len(chunk))
        for row in store.query(f"SELECT * FROM customers WHERE id IN ({marks})", chunk):
            record = dict(row)
            record["phones"], record["emails"], record["tags"] = [], [], []
            by_id[row["id"]] = record
        for row in store.query(
            f"SELECT customer_id, masked FROM phones WHERE customer_id IN ({marks})"
            " ORDER BY customer_id, position",
            chunk,
        ):
            by_id[row[0]]["phones"].append(row[1])
        for row in store.query(
            f"SELECT customer_id, masked FROM emails WHERE customer_id IN ({marks})"
            " ORDER BY customer_id, position",
            chunk,
        ):
            by_id[row[0]]["emails"].append(row[1])
        for row in store.query(
            f"SELECT customer_id, tag FROM tags WHERE customer_id IN ({marks})"
            " ORDER BY customer_id, tag",
            chunk,
        ):
            by_id[row[0]]["tags"].append(row[1])
    return [by_id[i] for i in customer_ids if i in by_id]


# -- lifecycle --------------------------------------------------------------------------


def set_archived(store: Store, customer_ids: Sequence[int], archived: bool) -> int:
    stamp = now_utc()
    changed = 0
    for chunk in _chunks(customer_ids):
        marks = ",".join("?" * len(chunk))
        condition = "archived_at IS NULL" if archived else "archived_at IS NOT NULL"
        cursor = store.conn.execute(
            f"UPDATE customers SET archived_at = ?, updated_at = ? WHERE id IN ({marks})"
            f" AND {condition}",
            [stamp if archived else None, stamp, *chunk],
        )
        changed += cursor.rowcount
    return changed


def delete(store: Store, customer_id: int) -> None:
    """Remove a customer and everything that hangs off it (the audit trail keeps a summary)."""
    unindex(store, customer_id)
    for table in ("phones", "emails", "tags", "interactions"):
        store.conn.execute(f"DELETE FROM {table} WHERE customer_id = ?", (customer_id,))
    # Tombstones that pointed here would dangle: point them at nothing (unresolvable).
    store.conn.execute("DELETE FROM customers WHERE merged_into = ?", (customer_id,))
    store.conn.execute("DELETE FROM customers WHERE id = ?", (customer_id,))


# -- search index -----------------------------------------------------------------------


def unindex(store: Store, customer_id: int) -> None:
    from crmcli.store import match_keys

    match_keys.delete_for(store, customer_id)
    store.conn.execute("DELETE FROM search_terms WHERE customer_id = ?", (customer_id,))
    store.conn.execute("DELETE FROM search_grams WHERE customer_id = ?", (customer_id,))
    store.conn.execute("DELETE FROM search_fts WHERE rowid = ?", (customer_id,))


def reindex(store: Store, customer_id: int) -> None:
    """Rebuild the search structures and duplicate keys of one customer from its stored state."""
    from crmcli.store import match_keys

    unindex(store, customer_id)
    (record,) = records(store, [customer_id])
    if record["merged_into"] is not None:
        return
    write_index(store, customer_id, record)
    match_keys.refresh(store, [customer_id])


INDEX_INSERTS = (
    "INSERT OR IGNORE INTO search_terms (term, customer_id) VALUES (?, ?)",
    "INSERT OR IGNORE INTO search_grams (gram, customer_id) VALUES (?, ?)",
    "INSERT OR IGNORE INTO search_vocab (term) VALUES (?)",
    "INSERT INTO search_fts (rowid, body) VALUES (?, ?)",
)


def index_params(customer_id: int, record: dict) -> tuple[list, list, list, list]:
    """Rows for the four INDEX_INSERTS of one record (as `records` returns it: masked contacts,
    tags sorted). `write_index` runs them for one customer; the bulk import batches the same
    rows from `index_entry`."""
    entry = index_entry(record)
    return (
        [(t, customer_id) for t in entry.terms],
        [(g, customer_id) for g in entry.grams],
        [(w,) for w in entry.vocab],
        [(customer_id, entry.body)],
    )


def index_entry(record: dict) -> IndexEntry:
    """What the search structures hold for one record (as `records` returns it)."""
    from crmcli import searching  # not at the top: `log` and `show` never index (start-up)

    return searching.index_entry(
        record, tags=record["tags"], phones_masked=record["phones"], emails_masked=record["emails"]
    )


def write_index(store: Store, customer_id: int, record: dict) -> None:
    for sql, params in zip(INDEX_INSERTS, index_params(customer_id, record), strict=True):
        store.conn.executemany(sql, params)


def owner_of_external_id(store: Store, external_id: str) -> int | None:
    value = store.scalar("SELECT id FROM customers WHERE external_id = ?", (external_id,))
    return None if value is None else int(value)


def interaction_count(store: Store, customer_id: int) -> int:
    return int(
        store.scalar("SELECT COUNT(*) FROM interactions WHERE customer_id = ?", (customer_id,))
    )


def count_live(store: Store) -> int:
    return int(store.scalar("SELECT COUNT(*) FROM customers WHERE merged_into IS NULL"))
