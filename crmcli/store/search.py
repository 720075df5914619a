"""Finding customers: filters as SQL, and the tiered lookups behind `search`.

Each tier asks an index for at most a bounded number of ids (never a scan of the customer
table for a query), with the filters applied in the same statement so a selective filter
never hides results behind a candidate cap:

- exact: one `search_terms` lookup of the whole key;
- prefix: a range scan of `search_terms` per word, intersected;
- substring: `search_grams` for 1-2 CJK characters, trigram FTS for 3+ characters;
- fuzzy: the Latin vocabulary compared with rapidfuzz, then an exact lookup of the words found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crmcli.searching import Query, Tier, fts_phrase

if TYPE_CHECKING:
    from crmcli.store import Store

_MAX_CODEPOINT = "\U0010ffff"


@dataclass
class Filters:
    """Which customers a listing covers. Merged-away customers are never listed."""

    statuses: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    grades: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)
    archived: bool | None = False  # False: live only; True: archived only; None: both

    def sql(self, alias: str = "c") -> tuple[str, list[Any]]:
        conditions = [f"{alias}.merged_into IS NULL"]
        params: list[Any] = []
        if self.archived is False:
            conditions.append(f"{alias}.archived_at IS NULL")
        elif self.archived is True:
            conditions.append(f"{alias}.archived_at IS NOT NULL")
        for column, values in (
            ("status", self.statuses),
            ("grade", self.grades),
            ("source", self.sources),
        ):
            if values:
                conditions.append(f"{alias}.{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        if self.cities:
            conditions.append(f"lower({alias}.city) IN ({','.join('?' * len(self.cities))})")
            params.extend(c.casefold() for c in self.cities)
        for tag in self.tags:
            conditions.append(
                f"EXISTS (SELECT 1 FROM tags t WHERE t.customer_id = {alias}.id AND t.tag = ?)"
            )
            params.append(tag)
        return " AND ".join(conditions), params


def list_ids(store: Store, filters: Filters, limit: int | None, order: str = "c.id") -> list[int]:
    where, params = filters.sql()
    sql = f"SELECT c.id FROM customers c WHERE {where} ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [r[0] for r in store.query(sql, params)]


def _filtered(
    store: Store, inner_sql: str, inner_params: list[Any], filters: Filters, limit: int
) -> list[int]:
    where, params = filters.sql()
    sql = (
        f"SELECT c.id FROM ({inner_sql}) AS hit JOIN customers c ON c.id = hit.customer_id"
        f" WHERE {where} LIMIT ?"
    )
    return [r[0] for r in store.query(sql, [*inner_params, *params, limit])]


def exact(store: Store, query: Query, filters: Filters, limit: int) -> list[int]:
    keys = sorted({query.key, query.compact, query.text})
    marks = ",".join("?" * len(keys))
    inner = f"SELECT DISTINCT customer_id FROM search_terms WHERE term IN ({marks})"
    return _filtered(store, inner, keys, filters, limit)


def prefix(store: Store, query: Query, filters: Filters, limit: int) -> list[int]:
    words = query.words or (query.key,)
    parts = []
    params: list[Any] = []
    for word in words:
        parts.append("SELECT customer_id FROM search_terms WHERE term >= ? AND term < ?")
        params.extend((word, word + _MAX_CODEPOINT))
    return _filtered(store, " INTERSECT ".join(parts), params, filters, limit)


def substring(store: Store, query: Query, filters: Filters, limit: int) -> list[int]:
    if query.is_short_cjk:
        inner = "SELECT customer_id FROM search_grams WHERE gram = ?"
        return _filtered(store, inner, [query.compact], filters, limit)
    if len(query.text) < 3:
        return []
    inner = "SELECT rowid AS customer_id FROM search_fts WHERE search_fts MATCH ?"
    return _filtered(store, inner, [fts_phrase(query.text)], filters, limit)


def vocabulary_near(store: Store, word: str) -> list[str]:
    """Vocabulary words that could be `word` with a typo (matching.closest_words scores them)."""
    rows = store.query(
        "SELECT term FROM search_vocab WHERE term >= ? AND term < ?",
        (word[0], word[0] + _MAX_CODEPOINT),
    )
    # A typo in the first letter is rarer than elsewhere; cover it with same-length words
    # that share the second letter (keeps the comparison set small at a million customers).
    if len(word) > 3:
        rows += store.query(
            "SELECT term FROM search_vocab WHERE substr(term, 2, 1) = ? AND length(term) = ?",
            (word[1], len(word)),
        )
    return [r[0] for r in rows]


def with_terms(store: Store, term_sets: list[list[str]], filters: Filters, limit: int) -> list[int]:
    """Customers holding, for every set, at least one of its terms."""
    parts = []
    params: list[Any] = []
    for terms in term_sets:
        parts.append(
            f"SELECT customer_id FROM search_terms WHERE term IN ({','.join('?' * len(terms))})"
        )
        params.extend(terms)
    return _filtered(store, " INTERSECT ".join(parts), params, filters, limit)


TIERS = (Tier.EXACT, Tier.PREFIX, Tier.SUBSTRING)


def keep_matching(store: Store, ids: list[int], filters: Filters, limit: int) -> list[int]:
    """The ids among `ids` that pass the filters (order kept)."""
    if not ids:
        return []
    where, params = filters.sql()
    marks = ",".join("?" * len(ids))
    rows = store.query(
        f"SELECT c.id FROM customers c WHERE c.id IN ({marks}) AND {where} LIMIT ?",
        [*ids, *params, limit],
    )
    kept = {r[0] for r in rows}
    return [i for i in ids if i in kept]
