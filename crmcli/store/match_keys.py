"""Duplicate blocking keys: which customers share a phone, an e-mail, a name or its pinyin.

One row per (key, customer) in `match_keys`, for live customers only (a merged-away tombstone
has none). Keys come from `crmcli.matching_score.blocking_keys`; those derived from phones and
e-mails are the keyed hashes already stored in `phones.tail8_hash` and `emails.hash`, so no
plaintext contact detail is added and no key is needed to keep them current. `refresh` runs
from `customers.reindex`, the store's single "after a write" hook; `write` keys a bulk import's
new customers from the records its duplicate matcher already built of them.

`KEYS_VERSION` names the key derivation: when it changes, `ensure_current` rebuilds every
customer's keys once (also the backfill for databases that had customers before m002).

Beside its blocking keys each customer has one row whose key starts with `~m:`
(`matching_score.stored_facts`): what scoring needs of pypinyin (name syllables, company
folds), computed here at write time so that a dedupe run reads it and never imports pypinyin.
It sorts after every blocking key, and `blocks` reads only keys below `~`.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crmcli.matching_score import MatchRecord
    from crmcli.store import Store

KEYS_VERSION = "2"  # 2: the stored facts row
_META = "match_keys_version"
_CHUNK = 900
_FACTS_LOW, _FACTS_HIGH = "~m:", "~m;"  # the range of the facts rows
_BLOCKS_BELOW = "~"
_INSERT = "INSERT OR IGNORE INTO match_keys (key, customer_id) VALUES (?, ?)"


def _chunks(ids: Sequence[int], size: int = _CHUNK) -> Iterator[list[int]]:
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def delete_for(store: Store, customer_id: int) -> None:
    store.conn.execute("DELETE FROM match_keys WHERE customer_id = ?", (customer_id,))


def match_rows(
    store: Store, customer_ids: Sequence[int]
) -> tuple[list[sqlite3.Row], list[sqlite3.Row], list[sqlite3.Row]]:
    """What the matcher reads: customer fields, phone rows (hash + ciphertext), e-mail hashes."""
    customers: list[sqlite3.Row] = []
    phones: list[sqlite3.Row] = []
    emails: list[sqlite3.Row] = []
    for chunk in _chunks(customer_ids):
        marks = ",".join("?" * len(chunk))
        customers += store.query(
            "SELECT id, kind, name, company, gender, merged_into, name_key, pinyin, company_key"
            " FROM customers"
            f" WHERE id IN ({marks})",
            chunk,
        )
        phones += store.query(
            "SELECT customer_id, tail8_hash, value_enc FROM phones"
            f" WHERE customer_id IN ({marks}) ORDER BY customer_id, position",
            chunk,
        )
        emails += store.query(
            f"SELECT customer_id, hash FROM emails WHERE customer_id IN ({marks})"
            " ORDER BY customer_id, position",
            chunk,
        )
    return customers, phones, emails


def refresh(store: Store, customer_ids: Sequence[int]) -> int:
    """Recompute the keys of these customers from their stored state; returns how many."""
    from crmcli.matching_score import PhoneFacts, match_record

    done = 0
    for chunk in _chunks(customer_ids):
        customers, phones, emails = match_rows(store, chunk)
        phone_tokens: dict[int, list[PhoneFacts]] = {}
        for row in phones:
            phone_tokens.setdefault(row[0], []).append(PhoneFacts("t:" + row[1]))
        email_tokens: dict[int, list[str]] = {}
        for row in emails:
            email_tokens.setdefault(row[0], []).append("e:" + row[1])
        _delete(store, chunk)
        rows: list[tuple[str, int]] = []
        for c in customers:
            if c["merged_into"] is not None:
                continue
            rec = match_record(
                c["id"],
                kind=c["kind"],
                name=c["name"],
                company=c["company"],
                name_key=c["name_key"],
                pinyin=c["pinyin"],
                company_key=c["company_key"],
                phones=phone_tokens.get(c["id"], ()),
                emails=email_tokens.get(c["id"], ()),
            )
            rows += _key_rows(rec)
            done += 1
        store.conn.executemany(_INSERT, rows)
    return done


def write(store: Store, records: Sequence[MatchRecord]) -> None:
    """Key live customers from records already built in memory: the rows `refresh` writes,
    without reading the customers back and deriving their keys again.

    For the bulk import, whose duplicate matcher built each new customer's record from the row
    it then inserted. Each record must be the one `refresh` would build from the stored row:
    same id, kind, name and company (the stored name_key, pinyin and company_key are these
    functions of them, `customers._derived`), phone tokens "t:" + the stored tail8_hash and
    e-mail tokens "e:" + the stored hash (order and repeats do not matter: keys are a set).
    """
    rows: list[tuple[str, int]] = []
    for rec in records:
        rows += _key_rows(rec)
    # In key order the WITHOUT ROWID b-tree takes each page's inserts together. By the key
    # alone (a stable sort): an import's records come in id order, and the rest is correct
    # in any order.
    rows.sort(key=operator.itemgetter(0))
    for chunk in _chunks([rec.id for rec in records]):
        _delete(store, chunk)
    store.conn.executemany(_INSERT, rows)


def _delete(store: Store, customer_ids: list[int]) -> None:
    marks = ",".join("?" * len(customer_ids))
    store.conn.execute(f"DELETE FROM match_keys WHERE customer_id IN ({marks})", customer_ids)


def _key_rows(rec: MatchRecord) -> list[tuple[str, int]]:
    """The match_keys rows of one live customer: its blocking keys and its facts row."""
    from crmcli import matching_score  # not at the top: most commands never key anyone

    rows = [(key, rec.id) for key in rec.keys]
    facts = matching_score.stored_facts(rec)
    if facts is not None:
        rows.append((facts, rec.id))
    return rows


def stale_ids(store: Store) -> list[int]:
    """Live customers whose keys are missing: all of them when the derivation changed, else
    those without any key (a bulk load that skipped the per-row hook; ~0.5 s per 1M)."""
    if store.meta(_META) != KEYS_VERSION:
        return [r[0] for r in store.query("SELECT id FROM customers WHERE merged_into IS NULL")]
    return [
        r[0]
        for r in store.query(
            "SELECT id FROM customers c WHERE merged_into IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM match_keys m WHERE m.customer_id = c.id)"
        )
    ]


def mark_current(store: Store) -> None:
    store.set_meta(_META, KEYS_VERSION)


def blocks(store: Store) -> Iterator[tuple[str, int, list[int]]]:
    """Every key held by two or more live customers: (key, size, customer ids)."""
    cursor = store.conn.execute(
        "SELECT key, COUNT(*), group_concat(customer_id) FROM match_keys"
        " WHERE key < ? GROUP BY key HAVING COUNT(*) > 1",
        (_BLOCKS_BELOW,),
    )
    for key, size, ids in cursor:
        yield key, size, [int(i) for i in ids.split(",")]


def max_customer_id(store: Store) -> int:
    return int(store.scalar("SELECT COALESCE(MAX(id), 0) FROM customers"))


def any_keys(store: Store) -> bool:
    """Whether any customer is keyed at all (an import into an empty database asks nothing)."""
    return store.scalar("SELECT EXISTS (SELECT 1 FROM match_keys)") == 1


def counts(store: Store, keys: Iterable[str], *, below: int | None = None) -> dict[str, int]:
    """How many customers hold each key (only those with an id under `below`, if given)."""
    return {key: n for key, n in _key_query(store, "key, COUNT(*)", keys, below, group=True)}


def holders(store: Store, keys: Iterable[str], *, below: int | None = None) -> dict[int, set[str]]:
    """Customers holding any of `keys` (only ids under `below`, if given), with the keys each
    holds."""
    out: dict[int, set[str]] = {}
    for key, customer_id in _key_query(store, "key, customer_id", keys, below):
        out.setdefault(customer_id, set()).add(key)
    return out


def _key_query(
    store: Store, columns: str, keys: Iterable[str], below: int | None, *, group: bool = False
) -> Iterator[sqlite3.Row]:
    keys = list(keys)
    limit = "" if below is None else " AND customer_id < ?"
    tail = " GROUP BY key" if group else ""
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        params = chunk if below is None else [*chunk, below]
        yield from store.query(
            f"SELECT {columns} FROM match_keys WHERE key IN ({marks}){limit}{tail}", params
        )


def stored_facts(store: Store, customer_ids: Sequence[int]) -> dict[int, str]:
    """The facts row of these customers (see the module docstring), by customer id."""
    out: dict[int, str] = {}
    for chunk in _chunks(customer_ids):
        marks = ",".join("?" * len(chunk))
        for customer_id, key in store.query(
            "SELECT customer_id, key FROM match_keys"
            f" WHERE customer_id IN ({marks}) AND key >= ? AND key < ?",
            [*chunk, _FACTS_LOW, _FACTS_HIGH],
        ):
            out[customer_id] = key
    return out
