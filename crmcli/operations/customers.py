"""Adding, editing, showing, archiving and deleting customers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crmcli.errors import InvalidInput, NotFound
from crmcli.store import contacts as contacts_db
from crmcli.store import customers as customers_db
from crmcli.store import interactions as interactions_db
from crmcli.store import journal

if TYPE_CHECKING:
    from crmcli.credentials import Vault
    from crmcli.models import CustomerDraft
    from crmcli.store import Store

# Every editable field but the three a customer cannot be without, and the collections.
CLEARABLE = (
    *(f for f in customers_db.EDITABLE if f not in ("name", "kind", "status")),
    "phones",
    "emails",
    "tags",
)


@dataclass
class Lookalike:
    """An existing customer a new one resembles, and why."""

    id: int
    name: str
    reasons: list[str] = field(default_factory=list)


@dataclass
class AddResult:
    id: int
    lookalikes: list[Lookalike]


def lookalikes(
    store: Store, draft: CustomerDraft, *, exclude: int | None = None
) -> list[Lookalike]:
    """Existing customers the draft probably duplicates, best first, each with the reasons
    (the dedupe matcher: `crmcli.operations.dedupe.likely_duplicates_of`)."""
    from crmcli.operations.dedupe import likely_duplicates_of

    found = likely_duplicates_of(store, draft, exclude=exclude)
    names = {r["id"]: r["name"] for r in customers_db.records(store, [f[0] for f in found])}
    return [
        Lookalike(
            customer_id,
            names.get(customer_id, "?"),
            [f"{band} duplicate, score {score:g}", *reasons],
        )
        for customer_id, score, band, reasons in found
    ]


def add(store: Store, draft: CustomerDraft) -> AddResult:
    if not draft.name:
        raise InvalidInput("name: a customer needs a name")
    fields = draft.fields()
    fields.setdefault("kind", None)
    fields["kind"] = fields["kind"] or "person"
    fields["status"] = fields.get("status") or "lead"
    vault = store.vault() if (draft.phones or draft.emails) else None
    with store.write():
        _check_external_id(store, fields.get("external_id"), None)
        similar = lookalikes(store, draft)
        customer_id = customers_db.insert(
            store, fields, phones=draft.phones, emails=draft.emails, tags=draft.tags, vault=vault
        )
        journal.record(
            store,
            "add",
            customer_id=customer_id,
            details={"after": _masked_summary(store, customer_id)},
        )
    return AddResult(customer_id, similar)


def _check_external_id(store: Store, external_id: str | None, customer_id: int | None) -> None:
    if not external_id:
        return
    owner = customers_db.owner_of_external_id(store, external_id)
    if owner is not None and owner != customer_id:
        raise InvalidInput(f"external_id: {external_id!r} already belongs to customer {owner}")


def _masked_summary(store: Store, customer_id: int) -> dict[str, Any]:
    (record,) = customers_db.records(store, [customer_id])
    from crmcli.fields import RECORD_FIELDS

    return {k: record[k] for k in RECORD_FIELDS if record.get(k) not in (None, [], "")}


def edit(
    store: Store,
    customer_id: int,
    draft: CustomerDraft,
    *,
    clear: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
    remove_phones: Sequence[str] = (),
    remove_emails: Sequence[str] = (),
) -> dict[str, Any]:
    """Apply changes; returns {field: (before, after)} for what actually changed."""
    for name in clear:
        if name not in CLEARABLE:
            raise InvalidInput(
                f"cannot clear {name!r} (clearable: {', '.join(CLEARABLE)});"
                " a name can only be changed"
            )
    if "name" in draft.model_fields_set and not draft.name:
        raise InvalidInput("name: a customer needs a name")
    for required in ("status", "kind"):  # NOT NULL columns: `--status ""` must not reach SQL
        if required in draft.model_fields_set and getattr(draft, required) is None:
            raise InvalidInput(f"{required}: cannot be empty")
    needs_key = bool(draft.phones or draft.emails or remove_phones or remove_emails)
    vault = store.vault() if needs_key else None
    with store.write():
        if customers_db.fetch_row(store, customer_id) is None:
            raise NotFound(f"no customer with id {customer_id}")
        before = _masked_summary(store, customer_id)
        changes = draft.fields()
        for name in clear:
            if name not in ("phones", "emails", "tags"):
                changes[name] = None
        _check_external_id(store, changes.get("external_id"), customer_id)
        if "phones" in clear:
            customers_db.delete_phone_rows(
                store, [r["id"] for r in customers_db.phone_hashes(store, customer_id)]
            )
        if "emails" in clear:
            customers_db.delete_email_rows(
                store, [r["id"] for r in customers_db.email_hashes(store, customer_id)]
            )
        if "tags" in clear:
            customers_db.remove_tags(store, customer_id, before.get("tags", []))
        if remove_phones:
            assert vault is not None
            _remove_phones(store, customer_id, remove_phones, vault)
        if remove_emails:
            assert vault is not None
            _remove_emails(store, customer_id, remove_emails, vault)
        if draft.phones:
            assert vault is not None
            known = {r["e164_hash"] for r in customers_db.phone_hashes(store, customer_id)}
            new = [
                p for p in draft.phones if not p.e164 or vault.blind("e164", p.e164) not in known
            ]
            customers_db.add_phones(store, customer_id, new, vault)
        if draft.emails:
            assert vault is not None
            known = {r["hash"] for r in customers_db.email_hashes(store, customer_id)}
            new_emails = [e for e in draft.emails if vault.blind("email", e) not in known]
            customers_db.add_emails(store, customer_id, new_emails, vault)
        customers_db.set_tags(store, customer_id, draft.tags)
        customers_db.remove_tags(store, customer_id, remove_tags)
        customers_db.update(store, customer_id, changes)
        after = _masked_summary(store, customer_id)
        diff = {
            k: (before.get(k), after.get(k))
            for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k) and k != "updated_at"
        }
        if diff:
            journal.record(store, "edit", customer_id=customer_id, details={"changed": diff})
    return diff


def _remove_phones(store: Store, customer_id: int, values: Sequence[str], vault: Vault) -> None:
    from crmcli.phone_numbers import parse_phone

    rows = customers_db.phone_hashes(store, customer_id)
    for value in values:
        phone = parse_phone(value)
        e164 = vault.blind("e164", phone.e164) if phone.e164 else None
        tail8 = vault.blind("tail8", phone.tail8)
        matched = [
            r["id"] for r in rows if (e164 and r["e164_hash"] == e164) or r["tail8_hash"] == tail8
        ]
        if not matched:
            raise InvalidInput(f"customer {customer_id} has no phone {phone.masked}")
        customers_db.delete_phone_rows(store, matched)


def _remove_emails(store: Store, customer_id: int, values: Sequence[str], vault: Vault) -> None:
    from crmcli.normalize import mask_email, normalize_email

    rows = customers_db.email_hashes(store, customer_id)
    for value in values:
        email = normalize_email(value)
        matched = [r["id"] for r in rows if r["hash"] == vault.blind("email", email)]
        if not matched:
            raise InvalidInput(f"customer {customer_id} has no email {mask_email(email)}")
        customers_db.delete_email_rows(store, matched)


def profile(store: Store, customer_id: int, *, reveal: bool = False) -> tuple[dict, list[dict]]:
    """The record and its full timeline (newest first). Revealing is audited."""
    records = customers_db.records(store, [customer_id])
    if not records:
        raise NotFound(f"no customer with id {customer_id}")
    record = records[0]
    if reveal:
        reveal_contacts(store, [record])
    timeline = [dict(r) for r in interactions_db.timeline(store, customer_id)]
    return record, timeline


def reveal_contacts(store: Store, records: list[dict], *, action: str = "reveal") -> None:
    """Replace masked phones/emails with the plain ones, and write the reveal to the audit trail."""
    vault = store.vault()
    plain = contacts_db.decrypted_contacts(store, [r["id"] for r in records], vault)
    for record in records:
        record["phones"] = plain[record["id"]]["phones"]
        record["emails"] = plain[record["id"]]["emails"]
    with store.write():
        if len(records) == 1:
            journal.record(store, action, customer_id=records[0]["id"])
        else:
            journal.record(store, action, details={"customers": len(records)})


def set_archived(store: Store, customer_ids: list[int], archived: bool) -> int:
    if len(customer_ids) > 1:  # a bulk change: keep a copy to go back to (DESIGN.md, Storage)
        from crmcli.store.backup import auto_backup

        auto_backup(store, "archive" if archived else "restore")
    with store.write():
        changed = customers_db.set_archived(store, customer_ids, archived)
        action = "archive" if archived else "restore"
        for customer_id in customer_ids:
            journal.record(store, action, customer_id=customer_id)
    return changed


def delete(store: Store, customer_id: int) -> str:
    with store.write():
        row = customers_db.fetch_row(store, customer_id)
        if row is None:
            raise NotFound(f"no customer with id {customer_id}")
        summary = _masked_summary(store, customer_id)
        count = customers_db.interaction_count(store, customer_id)
        customers_db.delete(store, customer_id)
        journal.record(
            store,
            "delete",
            customer_id=customer_id,
            details={"before": summary, "interactions_deleted": count},
        )
    return str(row["name"])
