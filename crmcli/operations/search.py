"""Searching customers and resolving the references commands take (id, name, phone fragment)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from crmcli import searching
from crmcli.errors import Ambiguous, NotFound
from crmcli.searching import Query, Tier
from crmcli.store import customers as customers_db
from crmcli.store import search as search_db
from crmcli.store.search import Filters

if TYPE_CHECKING:
    from crmcli.store import Store

DEFAULT_LIMIT = 20
# How many candidates a tier may contribute before ranking; enough to rank well, bounded so
# a one-letter query over a million customers stays an index range scan.
_CANDIDATES_PER_TIER = 200


def search(
    store: Store, text: str | None, filters: Filters, limit: int | None = DEFAULT_LIMIT
) -> list[dict]:
    """Customers matching `text` (all of them when empty), best first, with `match` tier names."""
    query = searching.read_query(text) if text else None
    if query is None:
        ids = search_db.list_ids(store, filters, limit)
        return customers_db.records(store, ids)
    wanted = limit or 10**9
    found: dict[int, Tier] = {}
    for tier, ids in _candidates(store, query, filters, max(wanted, _CANDIDATES_PER_TIER)):
        for customer_id in ids:
            found.setdefault(customer_id, tier)
        if len(found) >= wanted and tier >= Tier.PREFIX:
            break
    records = customers_db.records(store, list(found))
    for record in records:
        record["match"] = found[record["id"]].name.lower()
    if len(set(found.values())) < len(found):  # a tier holds several: order them by closeness
        records.sort(key=lambda r: searching.rank(query, found[r["id"]], r))
    else:  # one per tier (the usual lookup by name or phone): no need to load rapidfuzz
        records.sort(key=lambda r: found[r["id"]])
    return records[:wanted]


def _candidates(
    store: Store, query: Query, filters: Filters, cap: int
) -> Iterator[tuple[Tier, list[int]]]:
    """Yield (tier, ids) from the cheapest, most certain lookup to the most forgiving."""
    if query.email_like or query.phone_like:
        contact_ids = _by_contact(store, query)
        yield Tier.EXACT, search_db.keep_matching(store, contact_ids, filters, cap)
    if query.digits and query.digits == query.text and len(query.digits) == 4:
        # The last four digits are what the masked copy shows, so they are indexed plainly.
        ids = customers_db.customers_with_phone_tail4(store, query.digits)
        yield Tier.EXACT, search_db.keep_matching(store, ids, filters, cap)
    yield Tier.EXACT, search_db.exact(store, query, filters, cap)
    yield Tier.PREFIX, search_db.prefix(store, query, filters, cap)
    yield Tier.SUBSTRING, search_db.substring(store, query, filters, cap)
    if query.fuzzy_words:
        yield Tier.FUZZY, _fuzzy(store, query, filters, cap)


def _by_contact(store: Store, query: Query) -> list[int]:
    """Exact phone or email lookups need the key (keyed hashes); without one, skip them."""
    from crmcli.errors import NotConfigured, WrongKey

    try:
        vault = store.vault(interactive=False) if store.has_key() else None
    except (NotConfigured, WrongKey):
        vault = None
    if vault is None:
        return []
    if query.email_like:
        from crmcli.normalize import normalize_email

        try:
            email = normalize_email(query.text)
        except Exception:
            return []
        return customers_db.customers_with_email(store, vault.blind("email", email))
    from crmcli.errors import InvalidInput
    from crmcli.phone_numbers import parse_phone

    try:
        phone = parse_phone(query.text)
    except InvalidInput:
        return []
    e164 = vault.blind("e164", phone.e164) if phone.e164 else None
    return customers_db.customers_with_phone(store, e164, vault.blind("tail8", phone.tail8))


def _fuzzy(store: Store, query: Query, filters: Filters, cap: int) -> list[int]:
    from crmcli import matching

    term_sets = []
    for word in query.fuzzy_words:
        near = matching.closest_words(word, search_db.vocabulary_near(store, word))
        if not near:
            return []
        term_sets.append(near)
    return search_db.with_terms(store, term_sets, filters, cap)


def resolve(store: Store, ref: str, *, include_archived: bool = True) -> int:
    """The customer a command argument names: an id, or an unambiguous name/phone fragment.

    Merged-away ids resolve to their survivor. Raises NotFound, or Ambiguous carrying the
    candidates (exit 3 either way, nothing done).
    """
    ref = ref.strip()
    # ASCII digits only: str.isdigit() is also true for '²' or '١', which int() refuses.
    if ref.isascii() and ref.isdigit() and len(ref) < 7:
        survivor = customers_db.survivor_of(store, int(ref))
        if survivor is not None:
            return survivor
        raise NotFound(f"no customer with id {ref}")
    filters = Filters(archived=None if include_archived else False)
    query = searching.read_query(ref)
    if query is None:
        raise NotFound("an empty name matches no customer")
    best_tier: dict[int, Tier] = {}
    for tier, ids in _candidates(store, query, filters, 50):
        if tier == Tier.FUZZY:
            break
        for customer_id in ids:
            best_tier.setdefault(customer_id, tier)
    if not best_tier:
        raise NotFound(f"no customer matches {ref!r}")
    top = min(best_tier.values())
    leaders = [i for i, t in best_tier.items() if t == top]
    if len(leaders) == 1:
        return leaders[0]
    candidates = customers_db.records(store, sorted(leaders)[:20])
    raise Ambiguous(
        f"{ref!r} matches {len(leaders)} customers; say which by id:",
        candidates,
    )
