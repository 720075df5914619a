"""Set-based SQL for imports and exports: many customers in a few statements.

The one-at-a-time path (`store.customers.insert`) costs ~12 statements per customer, a re-read
of the row and a rebuild of its index; an import of 100k rows cannot afford that. Here a batch
of new customers is written with one `executemany` per table, from the same row, contact and
index definitions (`customers.new_row`, `phone_params`, `email_params`, `index_params`), so what
a bulk-imported customer stores is exactly what `insert` would store; their contacts are sealed
from the values just written (`sealed.seal_new`). Lookups for matching take a whole batch of
keys in one query. Callers hold the write transaction (`Store.write`).
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crmcli.store import contacts as contacts_db
from crmcli.store import customers as customers_db

if TYPE_CHECKING:
    from crmcli.credentials import Vault
    from crmcli.phone_numbers import Phone
    from crmcli.store import Store

_first = operator.itemgetter(0)

# SQLite 3.32+ allows 32766 parameters; stay well below for older builds (999 before 3.32).
_MAX_PARAMS = 900


def _chunks(values: Sequence[Any], size: int = _MAX_PARAMS) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(slots=True)
class Insertable:
    """What one new customer writes, all but its id: its customers row, the values of its
    phones and emails rows after the customer id (encrypted, hashed, masked), its tags and its
    search index entry. Computed by `insertable`, which needs no database: an import prepares
    these for every row ahead of matching, in a second process when it has a core to spare."""

    row: dict[str, Any]
    phones: list[tuple]
    emails: list[tuple]
    tags: list[str]
    # The search index entry (`customers.index_entry`), its sets as lists: an import's worker
    # sends these back pickled, and a list unpickles without hashing its strings again.
    terms: list[str]
    grams: list[str]
    vocab: list[str]
    body: str
    # (phone payloads, e-mails) in position order: what `sealed` seals once the id is known.
    contacts: tuple[list[str], list[str]]


@dataclass(slots=True)
class NewCustomer:
    """A customer to insert, with its id already chosen (the caller holds the write lock).

    `prepared`: its `Insertable`, when computed ahead from exactly these fields and contacts;
    whoever changes them afterwards sets it to None.
    """

    id: int
    fields: dict[str, Any]
    phones: list[Phone] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    prepared: Insertable | None = None


def next_customer_id(store: Store) -> int:
    """The id the next new customer gets: never a deleted customer's (see customers.next_id)."""
    from crmcli.store.customers import next_id

    return next_id(store)


def insertable(
    fields: dict[str, Any],
    phones: Sequence[Phone],
    emails: Sequence[str],
    tags: Sequence[str],
    vault: Vault | None,
    stamp: str,
) -> Insertable:
    """Everything a new customer writes but its id: the same rows, hashes and index as
    `customers.insert` writes (`new_row`, `phone_values`, `email_values`, `index_entry`)."""
    from crmcli.normalize import mask_email

    row = customers_db.new_row(fields, stamp)
    row.setdefault("last_contacted_at", None)  # one column list for the whole batch
    if phones or emails:
        assert vault is not None, "contact details need the key"
    # What `customers.records` would return for it: the index is built from the same view.
    record = {
        **row,
        "tags": sorted(set(tags)),
        "phones": [p.masked for p in phones],
        "emails": [mask_email(e) for e in emails],
    }
    entry = customers_db.index_entry(record)
    payloads = [contacts_db.phone_payload(p) for p in phones]
    return Insertable(
        row,
        [
            customers_db.phone_values(i, p, vault, payload)  # type: ignore[arg-type]
            for i, (p, payload) in enumerate(zip(phones, payloads, strict=True))
        ],
        [customers_db.email_values(i, e, vault) for i, e in enumerate(emails)],  # type: ignore[arg-type]
        list(tags),
        list(entry.terms),
        list(entry.grams),
        list(entry.vocab),
        entry.body,
        (payloads, list(emails)),
    )


def insert_customers(
    store: Store, batch: Sequence[NewCustomer], vault: Vault | None, stamp: str
) -> None:
    """Insert new customers with their phones, emails, tags and search index, and seal their
    contacts (`sealed.seal_new`) when the key is at hand."""
    if not batch:
        return
    rows = []
    phones: list[tuple] = []
    emails: list[tuple] = []
    tags: list[tuple[int, str]] = []
    terms: list[tuple[str, int]] = []
    grams: list[tuple[str, int]] = []
    vocab: list[tuple[str]] = []
    bodies: list[tuple[int, str]] = []
    contacts: list[tuple[int, tuple[list[str], list[str]]]] = []
    for new in batch:
        ready = new.prepared or insertable(
            new.fields, new.phones, new.emails, new.tags, vault, stamp
        )
        rows.append({**ready.row, "id": new.id})
        phones.extend((new.id, *values) for values in ready.phones)
        emails.extend((new.id, *values) for values in ready.emails)
        tags.extend((new.id, t) for t in ready.tags)
        terms.extend((t, new.id) for t in ready.terms)
        grams.extend((g, new.id) for g in ready.grams)
        vocab.extend((w,) for w in ready.vocab)
        bodies.append((new.id, ready.body))
        contacts.append((new.id, ready.contacts))
    columns = list(rows[0])
    store.conn.executemany(
        f"INSERT INTO customers ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        list(map(operator.itemgetter(*columns), rows)),  # every row has these ~25 columns
    )
    store.conn.executemany(customers_db.PHONE_INSERT, phones)
    store.conn.executemany(customers_db.EMAIL_INSERT, emails)
    store.conn.executemany("INSERT OR IGNORE INTO tags (customer_id, tag) VALUES (?, ?)", tags)
    # In key order the WITHOUT ROWID b-trees take each page's inserts together, instead of
    # visiting pages at random. Sorted by the term alone: the sort is stable and the batch
    # comes in id order, so this is (term, id) order at ~60% of a tuple sort's cost.
    terms.sort(key=_first)
    grams.sort(key=_first)
    vocab = list(dict.fromkeys(vocab))  # a chunk of 1,000 has ~1,600 Latin words, ~420 distinct
    terms_sql, grams_sql, vocab_sql, body_sql = customers_db.INDEX_INSERTS
    store.conn.executemany(terms_sql, terms)
    store.conn.executemany(grams_sql, grams)
    store.conn.executemany(vocab_sql, vocab)
    store.conn.executemany(body_sql, bodies)
    from crmcli.store import sealed

    # The rows just written hold exactly these plaintexts; sealing from them here spares
    # `seal_missing` reading and decrypting them again before the commit.
    sealed.seal_new(store, vault, contacts)


# -- lookups for matching ----------------------------------------------------------------


def owners_of_external_ids(store: Store, external_ids: Iterable[str]) -> dict[str, int]:
    """external_id -> the live customer holding it (a merged-away owner: its survivor)."""
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(external_ids))):
        marks = ",".join("?" * len(chunk))
        for row in store.query(
            f"SELECT external_id, id, merged_into FROM customers WHERE external_id IN ({marks})",
            list(chunk),
        ):
            owner = row[1] if row[2] is None else customers_db.survivor_of(store, row[1])
            if owner is not None:
                found[row[0]] = owner
    return found


def customers_by_e164_hashes(store: Store, hashes: Iterable[str]) -> dict[str, set[int]]:
    """Keyed E.164 hash -> live customers holding that phone."""
    found: dict[str, set[int]] = {}
    for chunk in _chunks(sorted(set(hashes))):
        marks = ",".join("?" * len(chunk))
        for row in store.query(
            "SELECT p.e164_hash, p.customer_id FROM phones p"
            " JOIN customers c ON c.id = p.customer_id"
            f" WHERE p.e164_hash IN ({marks}) AND c.merged_into IS NULL",
            list(chunk),
        ):
            found.setdefault(row[0], set()).add(row[1])
    return found


def customers_by_tail8_hashes(
    store: Store, hashes: Iterable[str]
) -> dict[str, set[tuple[int, bool]]]:
    """Keyed last-8-digits hash -> (live customer, whether that phone has an E.164 form)."""
    found: dict[str, set[tuple[int, bool]]] = {}
    for chunk in _chunks(sorted(set(hashes))):
        marks = ",".join("?" * len(chunk))
        for row in store.query(
            "SELECT p.tail8_hash, p.customer_id, p.e164_hash IS NOT NULL FROM phones p"
            " JOIN customers c ON c.id = p.customer_id"
            f" WHERE p.tail8_hash IN ({marks}) AND c.merged_into IS NULL",
            list(chunk),
        ):
            found.setdefault(row[0], set()).add((row[1], bool(row[2])))
    return found


def customers_by_email_hashes(store: Store, hashes: Iterable[str]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for chunk in _chunks(sorted(set(hashes))):
        marks = ",".join("?" * len(chunk))
        for row in store.query(
            "SELECT e.hash, e.customer_id FROM emails e JOIN customers c ON c.id = e.customer_id"
            f" WHERE e.hash IN ({marks}) AND c.merged_into IS NULL",
            list(chunk),
        ):
            found.setdefault(row[0], set()).add(row[1])
    return found


def identities(store: Store, ids: Iterable[int]) -> dict[int, tuple[str | None, str]]:
    """id -> (external_id, name_key), for choosing among match candidates."""
    found: dict[int, tuple[str | None, str]] = {}
    for chunk in _chunks(sorted(set(ids))):
        marks = ",".join("?" * len(chunk))
        for row in store.query(
            f"SELECT id, external_id, name_key FROM customers WHERE id IN ({marks})", list(chunk)
        ):
            found[row[0]] = (row[1], row[2])
    return found


@dataclass
class HeldContacts:
    """The keyed hashes of the contact details one customer holds."""

    e164: set[str] = field(default_factory=set)
    tail8: set[str] = field(default_factory=set)
    tail8_bare: set[str] = field(default_factory=set)  # phones without an E.164 form
    emails: set[str] = field(default_factory=set)

    def has_phone(self, e164: str | None, tail8: str) -> bool:
        """Equal E.164 forms; the last 8 digits only when one side has no E.164 form."""
        if e164 is None:
            return tail8 in self.tail8
        return e164 in self.e164 or tail8 in self.tail8_bare

    def add_phone(self, e164: str | None, tail8: str) -> None:
        self.tail8.add(tail8)
        if e164 is None:
            self.tail8_bare.add(tail8)
        else:
            self.e164.add(e164)


def contact_hashes(store: Store, customer_id: int) -> HeldContacts:
    held = HeldContacts()
    for row in customers_db.phone_hashes(store, customer_id):
        held.add_phone(row["e164_hash"], row["tail8_hash"])
    held.emails = {row["hash"] for row in customers_db.email_hashes(store, customer_id)}
    return held


def tags_of(store: Store, customer_id: int) -> set[str]:
    return {r[0] for r in store.query("SELECT tag FROM tags WHERE customer_id = ?", (customer_id,))}


def ids_with_name_key(store: Store, name_key: str, limit: int = 5) -> list[int]:
    rows = store.query(
        "SELECT id FROM customers WHERE name_key = ? AND merged_into IS NULL ORDER BY id LIMIT ?",
        (name_key, limit),
    )
    return [r[0] for r in rows]


# -- interactions ------------------------------------------------------------------------


def find_interaction(
    store: Store, customer_id: int, at: str, channel: str, summary: str
) -> int | None:
    """An interaction already recorded with the same customer, moment, channel and summary."""
    return store.scalar(
        "SELECT id FROM interactions WHERE customer_id = ? AND at = ? AND channel = ?"
        " AND summary = ? LIMIT 1",
        (customer_id, at, channel, summary),
    )


def insert_interactions(store: Store, rows: Sequence[tuple], stamp: str) -> None:
    """Insert (customer_id, at, channel, summary, outcome, next_follow_up_on) rows as they are.

    Unlike `interactions.insert` this leaves the customer's next follow-up alone: imported
    history is not "what was just done". Call `interactions.refresh_last_contact` afterwards.
    """
    store.conn.executemany(
        "INSERT INTO interactions (customer_id, at, channel, summary, outcome,"
        " next_follow_up_on, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(*r, stamp) for r in rows],
    )


def fill_next_follow_up(store: Store, customer_id: int, day: str) -> bool:
    """Set the next follow-up when the customer has none; True when it was set."""
    cursor = store.conn.execute(
        "UPDATE customers SET next_follow_up_on = ? WHERE id = ? AND next_follow_up_on IS NULL",
        (day, customer_id),
    )
    return cursor.rowcount > 0


# -- export ------------------------------------------------------------------------------


def customer_rows(store: Store, ids: Sequence[int]) -> Iterator[sqlite3.Row]:
    """Customer rows in the order of `ids`, fetched in chunks (an export streams these)."""
    for chunk in _chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        by_id = {
            r["id"]: r
            for r in store.query(f"SELECT * FROM customers WHERE id IN ({marks})", list(chunk))
        }
        for customer_id in chunk:
            if customer_id in by_id:
                yield by_id[customer_id]


def interaction_rows(store: Store, ids: Sequence[int]) -> Iterator[sqlite3.Row]:
    """Interactions of these customers, by customer (in `ids` order) then time."""
    for chunk in _chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        order = {cid: i for i, cid in enumerate(chunk)}
        rows = store.query(
            "SELECT customer_id, at, channel, summary, outcome, next_follow_up_on"
            f" FROM interactions WHERE customer_id IN ({marks}) ORDER BY at, id",
            list(chunk),
        )
        rows.sort(key=lambda r: order[r["customer_id"]])  # stable: time order within a customer
        yield from rows
