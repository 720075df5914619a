"""Sealed contacts: one encrypted blob per customer holding all its phone and e-mail plaintexts.

Revealing every contact of 100k customers row by row is 215k AES-GCM calls; from the blobs it is
100k, read from one narrow table (issue #6: at most 0.5 s). This module owns:

- the blob: AES-256-GCM (`Vault.encrypt`) of the customer's phone payloads (`phone_payload`
  JSON, in position order), "\\x1d", its e-mails (in position order); the items of each list
  joined by "\\x1e". Neither character can occur in a value: JSON escapes every control
  character and a stored e-mail has none (`normalize_email`); `seal_missing` still leaves a
  customer with such a value (or an empty one) unsealed rather than trust that. The associated
  data binds the customer id, so a blob copied onto another customer does not open.
- the table `contacts_sealed` (migration m004): a row per customer, NULL = not sealed. Triggers
  on phones and emails set it NULL whenever a row of that customer changes, so a blob is either
  absent or exactly the rows; "unsealed" means only "changed since the last sealing".
- `seal_missing`: seals every unsealed customer; `Store.write` calls it before committing a
  transaction whose command opened the vault, so every write that holds the key leaves the
  database sealed, in the same transaction (all or nothing). `seal_new` writes the rows of
  customers just bulk-inserted, sealed from the plaintexts the import already holds, so
  `seal_missing` then has only the customers changed since.
- reading: `contacts` gives the plaintexts of customers from their blobs, falling back to
  their rows (the same answer) for customers not sealed or whose blob does not open;
  `decrypted_contacts` (`--reveal`, `export --reveal`) reads `opened_batches` itself.

`dedupe.load_records` does not read the blobs: it needs only the phones, whose ciphertext comes
with the phone rows it reads anyway, and decrypting those (1.4 a customer) measured faster than
reading and opening one blob a customer (111-116 ms against 238-276 ms per 30k customers).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from crmcli.errors import InvalidInput, WrongKey
from crmcli.store import contacts as contacts_db

if TYPE_CHECKING:
    from crmcli.credentials import Vault
    from crmcli.store import Store

LISTS = "\x1d"  # between the phone list and the e-mail list
ITEMS = "\x1e"  # between the items of a list
_AAD = b"crmcli contacts v1 #%d"
_BATCH = 4096  # customers sealed at a time: memory stays flat at a million customers

Contacts = tuple[list[str], list[str]]  # (phone payloads, e-mails), each in position order


def associated_data(customer_id: int) -> bytes:
    return _AAD % customer_id


def pack(phones: Sequence[str], emails: Sequence[str]) -> str | None:
    """The plaintext of a blob, or None when a value cannot be packed unambiguously (empty, or
    holding a separator: the separators of the whole text are counted, one pass in C)."""
    text = ITEMS.join(phones) + LISTS + ITEMS.join(emails)
    if (
        text.count(ITEMS) != max(len(phones) - 1, 0) + max(len(emails) - 1, 0)
        or text.count(LISTS) != 1
        or "" in phones
        or "" in emails
    ):
        return None
    return text


def unpack(text: str) -> Contacts:
    phones, _, emails = text.partition(LISTS)
    return (phones.split(ITEMS) if phones else [], emails.split(ITEMS) if emails else [])


# -- sealing ------------------------------------------------------------------------------


def unsealed_count(store: Store) -> int:
    return int(store.scalar("SELECT COUNT(*) FROM contacts_sealed WHERE contacts_enc IS NULL"))


def seal_missing(store: Store, vault: Vault) -> int:
    """Seal every customer whose blob is missing, from its rows; returns how many were sealed.

    The caller holds the write transaction. A customer whose rows do not decrypt (a damaged
    value) stays unsealed: its readers fall back to the rows and report the damage there, and
    no write is refused because of it.
    """
    sealed, after = 0, -1
    while True:
        ids = [
            r[0]
            for r in store.conn.execute(
                "SELECT customer_id FROM contacts_sealed INDEXED BY contacts_unsealed"
                " WHERE contacts_enc IS NULL AND customer_id > ? ORDER BY customer_id LIMIT ?",
                (after, _BATCH),
            )
        ]
        if not ids:
            return sealed
        after = ids[-1]
        sealed += seal_from(store, vault, _from_rows_lenient(store, ids, vault).items())


def seal_from(store: Store, vault: Vault, plain: Iterable[tuple[int, Contacts]]) -> int:
    """Seal these customers from their contacts as the caller knows them, which must be exactly
    what their phones and emails rows hold (`from_rows`); returns how many were sealed.
    `seal_missing` reads and decrypts the rows first; `seal_new` is the bulk import's way,
    from the plaintexts it has just written (100k: saves reading and decrypting ~240k values
    before the commit).
    """
    params = []
    for customer_id, contacts in plain:
        blob = _seal(vault, customer_id, contacts)
        if blob is not None:
            params.append((blob, customer_id))
    store.conn.executemany(
        "UPDATE contacts_sealed SET contacts_enc = ? WHERE customer_id = ?", params
    )
    return len(params)


def seal_new(store: Store, vault: Vault | None, plain: Iterable[tuple[int, Contacts]]) -> None:
    """Write the `contacts_sealed` rows of customers just inserted, from exactly the contacts
    their rows hold: sealed (`seal_from`), or not sealed without the key. Whether or not the
    customers' insert trigger made their rows first: a load into an empty database drops it
    for the load (`bulk_load`). Call it after their phones and e-mails are written, whose
    triggers would unseal them again."""
    params = [
        (customer_id, None if vault is None else _seal(vault, customer_id, contacts))
        for customer_id, contacts in plain
    ]
    store.conn.executemany(
        "INSERT OR REPLACE INTO contacts_sealed (customer_id, contacts_enc) VALUES (?, ?)", params
    )


def _seal(vault: Vault, customer_id: int, contacts: Contacts) -> bytes | None:
    text = pack(*contacts)
    if text is None:
        return None
    return vault.encrypt(text, context=associated_data(customer_id).decode())


def _from_rows_lenient(store: Store, ids: list[int], vault: Vault) -> dict[int, Contacts]:
    """`from_rows`, leaving out customers with a value that does not decrypt."""
    try:
        return from_rows(store, ids, vault)
    except (InvalidInput, WrongKey):
        pass
    out: dict[int, Contacts] = {}
    for customer_id in ids:
        try:
            out.update(from_rows(store, [customer_id], vault))
        except (InvalidInput, WrongKey):
            continue
    return out


# -- reading ------------------------------------------------------------------------------


def contacts(store: Store, customer_ids: Iterable[int], vault: Vault) -> dict[int, Contacts]:
    """(phone payloads, e-mails) of each of these customers (every id, known or not), in no
    particular order: from the blobs, from the rows for the customers without one.

    Raises WrongKey / InvalidInput as reading the rows does (a blob that does not open is not
    trusted to say why: the customer's rows are read instead, and they tell).
    """
    wanted = set(customer_ids)
    out: dict[int, Contacts] = {}
    for ids, texts in opened_batches(store, wanted, vault):
        for customer_id, text in zip(ids, texts, strict=True):
            if text is not None:
                out[customer_id] = unpack(text)
    if len(out) < len(wanted):
        out.update(from_rows(store, [i for i in wanted if i not in out], vault))
    return out


def opened_batches(
    store: Store, customer_ids: Iterable[int], vault: Vault
) -> Iterator[tuple[list[int], list[str | None]]]:
    """Batches of (customer ids, blob plaintexts or None) for these customers' blobs: None
    for a blob that does not open; a customer not sealed (or unknown) is in no batch.
    Unpack each text with `unpack`."""
    for rows in blob_rows(store, set(customer_ids)):
        sealed = [(customer_id, blob) for customer_id, blob in rows if blob is not None]
        if sealed:
            yield (
                [customer_id for customer_id, _ in sealed],
                vault.decrypt_each([(blob, _AAD % customer_id) for customer_id, blob in sealed]),
            )


def blob_rows(store: Store, wanted: set[int]) -> Iterator[list[tuple[int, bytes | None]]]:
    """(customer_id, contacts_enc) of these customers, in batches."""
    return contacts_db.rows_of_customers(
        store, "SELECT customer_id, contacts_enc FROM contacts_sealed", wanted
    )


def from_rows(store: Store, customer_ids: Iterable[int], vault: Vault) -> dict[int, Contacts]:
    """(phone payloads, e-mails) of each of these customers from the phones and emails rows:
    what a blob holds, and the way every contact was read before there were blobs."""
    ids = list(customer_ids)
    out: dict[int, Contacts] = {i: ([], []) for i in ids}
    for table, context, index in (("phones", "phone", 0), ("emails", "email", 1)):
        for rows in contacts_db.contact_rows(store, table, ids):
            plain = vault.decrypt_many([r[1] for r in rows], context=context)
            for (customer_id, _), value in zip(rows, plain, strict=True):
                out[customer_id][index].append(value)
    return out
