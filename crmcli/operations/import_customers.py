"""Importing a customers sheet: validate each row, match it, then create, fill or leave.

Rows arrive prepared (`import_prepare`: validated, hashed, with their match record and what
they would write), possibly from a second process. A row is matched to an existing customer by
customer number, then by an identical phone or e-mail (keyed hashes, so no plaintext is
compared); a row that matches nothing exactly but looks like a customer to the duplicate
matcher goes as `--on-duplicate` says (`import_duplicates`). New customers are written a chunk
at a time through `store.bulk` (the same rows, hashes and index as `crmcli add`); updates take
the one-at-a-time path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crmcli import collector
from crmcli.operations import import_duplicates as dups
from crmcli.operations import import_prepare as prep
from crmcli.operations.import_prepare import ContactHashes, PreparedRow
from crmcli.operations.import_report import ImportOptions, PlannedSheet, SheetImport, SheetResult
from crmcli.operations.import_rows import CustomerRow, CustomerRows
from crmcli.store import bulk, bulk_load, journal, now_utc
from crmcli.store import customers as customers_db

if TYPE_CHECKING:
    from crmcli.credentials import Vault
    from crmcli.store import Store


@dataclass
class _Lookups:
    """What the database holds for one chunk's keys (fetched in a few set-based queries)."""

    owners: dict[str, int]
    e164: dict[str, set[int]] = field(default_factory=dict)
    tail8: dict[str, set[tuple[int, bool]]] = field(default_factory=dict)
    emails: dict[str, set[int]] = field(default_factory=dict)
    known: dict[int, tuple[str | None, str]] = field(default_factory=dict)


class CustomerImport(SheetImport):
    """Customers: validate, match (customer number, then phone/email), create or fill."""

    def __init__(
        self,
        store: Store,
        vault: Vault | None,
        planned: PlannedSheet,
        options: ImportOptions,
        result: SheetResult,
        id_map: dict[str, int],
        rejected_ids: set[str],
        numbers: dict[str, int | str],
    ) -> None:
        super().__init__(planned, options, result)
        self.store = store
        self.vault = vault
        self.id_map = id_map
        self.numbers = numbers
        self.known: dict[int, tuple[str | None, str]] = {}  # the chunk's _Lookups.known
        self.reader = CustomerRows(
            planned.sheet.headers,
            planned.header_map,
            keep_extra=options.keep_extra,
            source_id_column=planned.source_id_column,
        )
        if options.keep_extra:
            result.kept_columns, result.unmapped_columns = result.unmapped_columns, []
        self.stamp = now_utc()
        self.next_id = bulk.next_customer_id(store)
        held = dups.memory_records(planned.sheet.total_rows)
        self.twins = dups.TwinFinder(store, vault, self.next_id, held)
        # New customers of the current chunk (not yet in the database), and the keys that find
        # them or customers changed during this chunk; reset after each flush.
        self.pending: dict[int, bulk.NewCustomer] = {}
        self.local_ext: dict[str, int] = {}
        self.local_e164: dict[str, set[int]] = {}
        self.local_tail8: dict[str, set[tuple[int, bool]]] = {}
        self.local_emails: dict[str, set[int]] = {}
        self.name_keys: dict[int, str] = {}
        self.rejected_ids = rejected_ids
        self.source_of: dict[int, str] = {}  # created here from an export row: its crmcli id

    def on_reject(self, cells: Sequence[object]) -> None:
        from crmcli.sheets import cell_text

        for index, name in self.planned.header_map.fields.items():
            external_id = cell_text(cells[index]) if index < len(cells) else None
            if name == "external_id" and external_id:
                self.rejected_ids.add(external_id)

    def run(self, advance: Callable[[int], None], chunk_rows: int) -> None:
        parallel = self.options.parallel
        if parallel is None:
            parallel = prep.worth_forking(self.planned.sheet.total_rows, chunk_rows)
        chunks = self.chunks(chunk_rows)
        # Into an empty database, indexes and triggers nothing reads during the import are
        # brought up to date once at the end (`bulk_load`). This process's garbage collector
        # is paused: the rows' objects hold no cycles, and its passes over them and over what
        # survives a chunk (the matcher's records, caches) took 3.5 s of this process's time
        # at 100k rows, which is the slower of the two (a worker runs its own: see
        # import_prepare._work).
        with collector.paused(), bulk_load.deferred_upkeep(self.store):
            for chunk in prep.prepared_chunks(
                self.reader, self.vault, self.stamp, chunks, parallel=parallel
            ):
                self._import_chunk(chunk)
                advance(len(chunk))
        if self.result.duplicates.review_pairs:
            self.result.duplicates.review_groups = dups.review_groups(
                self.store, self.result.duplicates
            )

    def _import_chunk(self, chunk: list[prep.Prepared]) -> None:
        rows: list[PreparedRow] = []
        for item in chunk:
            if isinstance(item, prep.RejectedRow):
                self.reject(item.number, item.cells, item.column, item.reason)
            elif isinstance(item, prep.SkippedRow):
                self.result.skipped += 1
            else:
                self.result.masked_skipped += item.row.masked_skipped
                rows.append(item)
        self._apply(rows)
        bulk.insert_customers(self.store, list(self.pending.values()), self.vault, self.stamp)
        self.twins.flushed(list(self.pending))
        self.pending.clear()
        for local in (self.local_ext, self.local_e164, self.local_tail8, self.local_emails):
            local.clear()
        self.name_keys.clear()

    # -- matching -----------------------------------------------------------------------
    # A phone is the same phone when the E.164 forms are equal; the last 8 digits decide only
    # when one side could not be canonicalised (a bare landline). Comparing last-8 digits
    # always would tie 13812345678 to 13912345678.

    def _holders(self, contact: tuple[str | None, str], db: _Lookups) -> set[int]:
        e164, tail8 = contact
        found: set[int] = set()
        for cid, has_e164 in db.tail8.get(tail8, set()) | self.local_tail8.get(tail8, set()):
            if e164 is None or not has_e164:
                found.add(cid)
        if e164 is not None:
            found |= db.e164.get(e164, set()) | self.local_e164.get(e164, set())
        return found

    def _apply(self, rows: list[PreparedRow]) -> None:
        ext_ids = [p.row.fields["external_id"] for p in rows if p.row.fields.get("external_id")]
        db = _Lookups(owners=bulk.owners_of_external_ids(self.store, ext_ids))
        db.e164 = bulk.customers_by_e164_hashes(
            self.store, [e for p in rows for e, _ in p.contacts.phones if e]
        )
        db.tail8 = bulk.customers_by_tail8_hashes(
            self.store, [t for p in rows for _, t in p.contacts.phones]
        )
        db.emails = bulk.customers_by_email_hashes(
            self.store, [e for p in rows for e in p.contacts.emails]
        )
        ids = {i for ids in (*db.e164.values(), *db.emails.values()) for i in ids}
        ids |= {i for pairs in db.tail8.values() for i, _ in pairs}
        db.known = self.known = bulk.identities(self.store, ids)
        self.twins.begin(lambda: [p.record for p in rows])
        for prepared in rows:
            self._one(prepared, db)

    def _identity(self, cid: int, known: dict[int, tuple[str | None, str]]) -> tuple[Any, str]:
        if cid in self.pending:
            new = self.pending[cid]
            return new.fields.get("external_id"), self.name_keys.get(cid, "")
        if cid not in known:
            known.update(bulk.identities(self.store, [cid]))
        return known.get(cid, (None, ""))

    def _one(self, prepared: PreparedRow, db: _Lookups) -> None:
        row, contacts = prepared.row, prepared.contacts
        ext = row.fields.get("external_id")
        target = self.local_ext.get(ext) if ext else None
        if target is None and ext:
            target = db.owners.get(ext)
        if target is None and (contacts.phones or contacts.emails):
            scores: dict[int, int] = {}
            personal: set[int] = set()  # share a mobile, another phone or an e-mail
            for phone, contact in zip(row.phones, contacts.phones, strict=True):
                for cid in self._holders(contact, db):
                    scores[cid] = scores.get(cid, 0) + 1
                    if not dups.is_landline(phone):
                        personal.add(cid)
            for email in contacts.emails:
                for cid in db.emails.get(email, set()) | self.local_emails.get(email, set()):
                    scores[cid] = scores.get(cid, 0) + 1
                    personal.add(cid)
            name_key = prepared.record.name_key if row.fields.get("name") else ""
            best: tuple[int, int, int] | None = None
            for cid, score in scores.items():
                their_ext, their_name = self._identity(cid, db.known)
                same_name = bool(name_key) and name_key == their_name
                if ext and their_ext and their_ext != ext:
                    continue  # another customer number: a different record
                if row.source_id and self.source_of.get(cid, row.source_id) != row.source_id:
                    continue  # two customers of one export are two customers
                if cid not in personal and not same_name:
                    continue  # colleagues share an office landline, not an identity
                rank = (score, int(same_name), -cid)
                if best is None or rank > best:
                    best = rank
            target = -best[2] if best else None
        if target is None:
            target = self._not_identified(prepared)
        elif target in self.pending:
            self._fill_pending(self.pending[target], row, contacts)
        else:
            self._update(target, row, contacts)
        if row.source_id and target is not None:
            self.id_map[row.source_id] = target

    def _not_identified(self, prepared: PreparedRow) -> int | None:
        """A row that matched no customer exactly: ask the duplicate matcher, then create,
        fill, skip or report as --on-duplicate says (see import_duplicates)."""
        row, contacts, rec = prepared.row, prepared.contacts, prepared.record
        if not row.fields.get("name"):
            return self._create(prepared)  # rejected: a customer needs a name

        def excluded(cid: int) -> bool:  # two customers of one export are two customers
            return bool(row.source_id) and self.source_of.get(cid, row.source_id) != row.source_id

        twin = self.twins.best(rec, excluded)
        decision = "created"
        if twin is not None and twin.band == "likely":
            decision = dups.DECISIONS[self.options.on_duplicate]
        ext = row.fields.get("external_id")
        target: int | None
        if decision == "skipped":
            assert twin is not None
            self.result.skipped += 1
            target = None
            if ext:
                self.numbers[ext] = (
                    f"customer {ext} was skipped as a likely duplicate of #{twin.customer_id}"
                )
        elif decision == "updated":
            assert twin is not None
            target = twin.customer_id
            if target in self.pending:
                self._fill_pending(self.pending[target], row, contacts)
            else:
                self._update(target, row, contacts)
            if ext:
                self.numbers[ext] = target
        else:
            target = self._create(prepared)
        if twin is not None:
            name = row.fields["name"]
            self.result.duplicates.add(dups.DuplicatePair(row.number, name, twin, decision, target))
        return target

    # -- writing ------------------------------------------------------------------------

    def _create(self, prepared: PreparedRow) -> int | None:
        row, contacts, rec = prepared.row, prepared.contacts, prepared.record
        if not row.fields.get("name"):
            column = row.columns.get("name", "")
            self.reject(row.number, prepared.cells, column, "a customer needs a name")
            return None
        fields = prep.new_fields(row)
        cid = self.next_id
        self.next_id += 1
        self.pending[cid] = bulk.NewCustomer(
            cid, fields, row.phones, row.emails, row.tags, prepared=prepared.new
        )
        self.name_keys[cid] = rec.name_key
        if fields.get("external_id"):
            self.local_ext[fields["external_id"]] = cid
        self._remember(cid, contacts)
        if row.source_id:
            self.id_map[row.source_id] = cid
            self.source_of[cid] = row.source_id
        self.result.created += 1
        self.twins.created(cid, rec)
        return cid

    def _remember(self, cid: int, contacts: ContactHashes) -> None:
        for e164, tail8 in contacts.phones:
            if e164 is not None:
                self.local_e164.setdefault(e164, set()).add(cid)
            self.local_tail8.setdefault(tail8, set()).add((cid, e164 is not None))
        for email in contacts.emails:
            self.local_emails.setdefault(email, set()).add(cid)

    def _fill_pending(
        self, new: bulk.NewCustomer, row: CustomerRow, contacts: ContactHashes
    ) -> None:
        """The same customer twice in one chunk: fold the later row into the pending one."""
        changed = False
        for name, value in row.fields.items():
            current = new.fields.get(name)
            fill = current in (None, "") or (self.options.overwrite and name != "external_id")
            if fill and current != value:
                new.fields[name] = value
                changed = True
        if new.fields.get("external_id") and new.fields["external_id"] not in self.local_ext:
            self.local_ext[new.fields["external_id"]] = new.id
        have = {p.e164 or p.digits for p in new.phones}
        for phone in row.phones:
            if (phone.e164 or phone.digits) not in have:
                new.phones.append(phone)
                have.add(phone.e164 or phone.digits)
                changed = True
        for email in row.emails:
            if email not in new.emails:
                new.emails.append(email)
                changed = True
        for tag in row.tags:
            if tag not in new.tags:
                new.tags.append(tag)
                changed = True
        self._remember(new.id, contacts)
        if changed:
            new.prepared = None  # what was prepared from the first row no longer holds
            self.twins.grew(new.id)
            self.result.updated += 1
        else:
            self.result.unchanged += 1

    def _update(self, cid: int, row: CustomerRow, contacts: ContactHashes) -> None:
        """Fill the empty fields of an existing customer (all of them with --overwrite) and add
        the phones, emails and tags it lacks; contact details are never removed."""
        store = self.store
        current = customers_db.fetch_row(store, cid)
        assert current is not None
        changes: dict[str, Any] = {}
        for name, value in row.fields.items():
            if name not in customers_db.EDITABLE or current[name] == value:
                continue
            if current[name] in (None, "") or (self.options.overwrite and name != "external_id"):
                changes[name] = value
        held = bulk.contact_hashes(store, cid)
        new_phones = []
        for phone, (e164, tail8) in zip(row.phones, contacts.phones, strict=True):
            if not held.has_phone(e164, tail8):
                new_phones.append(phone)
                held.add_phone(e164, tail8)
        new_emails = []
        for email, key in zip(row.emails, contacts.emails, strict=True):
            if key not in held.emails:
                new_emails.append(email)
                held.emails.add(key)
        new_tags = [t for t in row.tags if t not in bulk.tags_of(store, cid)]
        if not (changes or new_phones or new_emails or new_tags):
            self.result.unchanged += 1
            return
        if new_phones or new_emails:
            assert self.vault is not None
            customers_db.add_phones(store, cid, new_phones, self.vault)
            customers_db.add_emails(store, cid, new_emails, self.vault)
        customers_db.set_tags(store, cid, new_tags)
        customers_db.update(store, cid, changes)  # refreshes derived keys and the index
        self.twins.changed(cid)
        self._remember(cid, contacts)
        if changes.get("external_id"):
            self.local_ext[changes["external_id"]] = cid
            if cid in self.known:  # a later row of this chunk must see the number
                self.known[cid] = (changes["external_id"], self.known[cid][1])
        details: dict[str, Any] = {"row": row.number}
        if changes:
            details["changed"] = {k: (current[k], v) for k, v in sorted(changes.items())}
        if new_phones:
            details["added_phones"] = [p.masked for p in new_phones]
        if new_emails:
            from crmcli.normalize import mask_email

            details["added_emails"] = [mask_email(e) for e in new_emails]
        if new_tags:
            details["added_tags"] = new_tags
        journal.record(store, "import-update", customer_id=cid, details=details)
        self.result.updated += 1
