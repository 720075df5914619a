"""Importing an interactions sheet: find each row's customer, skip what is already recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from crmcli.operations.import_report import ImportOptions, PlannedSheet, SheetImport, SheetResult
from crmcli.operations.import_rows import InteractionRow, InteractionRows, Rejected
from crmcli.store import bulk, now_utc
from crmcli.store import customers as customers_db
from crmcli.store import interactions as interactions_db

if TYPE_CHECKING:
    from crmcli.store import Store


class InteractionImport(SheetImport):
    """Interactions: resolve the customer, skip what is already recorded, insert the rest."""

    def __init__(
        self,
        store: Store,
        planned: PlannedSheet,
        options: ImportOptions,
        result: SheetResult,
        id_map: dict[str, int],
        rejected_ids: set[str],
        numbers: dict[str, int | str],
        follow_ups_given: bool,
    ) -> None:
        super().__init__(planned, options, result)
        self.store = store
        self.id_map = id_map
        self.rejected_ids = rejected_ids
        self.numbers = numbers
        self.follow_ups_given = follow_ups_given
        self.reader = InteractionRows(
            planned.sheet.headers,
            planned.header_map,
            external_id_column=planned.external_id_column,
            source_id_column=planned.source_id_column,
        )
        self.resolved: dict[tuple[str, str], int | str] = {}

    def run(self, advance: Callable[[int], None], chunk_rows: int) -> None:
        stamp = now_utc()
        newest: dict[int, InteractionRow] = {}
        for chunk in self.chunks(chunk_rows):
            batch: list[tuple] = []
            seen: set[tuple] = set()
            for number, cells in chunk:
                try:
                    row = self.reader.read(number, cells)
                    if row is None:
                        self.result.skipped += 1
                        continue
                    cid = self._customer(row)
                except Rejected as exc:
                    self.reject(number, cells, exc.column, exc.reason)
                    continue
                key = (cid, row.at, row.channel, row.summary)
                if key in seen or bulk.find_interaction(self.store, *key) is not None:
                    self.result.unchanged += 1
                    continue
                seen.add(key)
                batch.append((*key, row.outcome, row.next_follow_up_on))
                if cid not in newest or row.at >= newest[cid].at:
                    newest[cid] = row
                self.result.created += 1
            bulk.insert_interactions(self.store, batch, stamp)
            advance(len(chunk))
        for cid, row in newest.items():
            interactions_db.refresh_last_contact(self.store, cid)
            # The newest interaction's follow-up becomes the customer's when they have none,
            # unless a customers sheet of this import stated the follow-ups (an export does).
            if row.next_follow_up_on and not self.follow_ups_given:
                bulk.fill_next_follow_up(self.store, cid, row.next_follow_up_on)

    def _customer(self, row: InteractionRow) -> int:
        """The customer an interaction row names: by the export's id (this import), customer
        number, crmcli id, then an unambiguous name."""
        last: tuple[str, str] | None = None
        for how, header, value in row.refs:
            key = (how, value)
            if key not in self.resolved:
                self.resolved[key] = self._resolve(how, value)
            found = self.resolved[key]
            if isinstance(found, int):
                return found
            last = (header, found)
        assert last is not None
        raise Rejected(*last)

    def _resolve(self, how: str, value: str) -> int | str:
        from crmcli import matching

        if how == "source_id":
            return self.id_map.get(value, f"customer {value} of the export was not imported")
        owner = customers_db.owner_of_external_id(self.store, value)
        if owner is not None:
            survivor = customers_db.survivor_of(self.store, owner)
            if survivor is not None:
                return survivor
        if value in self.rejected_ids:
            return f"customer {value} was rejected on the customers sheet"
        if value in self.numbers:  # folded into a customer by --on-duplicate, or skipped
            folded = self.numbers[value]
            return (
                folded
                if isinstance(folded, str)
                else customers_db.survivor_of(self.store, folded) or folded
            )
        if how == "external_id":
            return f"no customer with customer number {value!r}"
        if value.isascii() and value.isdigit() and len(value) < 7:
            survivor = customers_db.survivor_of(self.store, int(value))
            if survivor is not None:
                return survivor
        ids = bulk.ids_with_name_key(self.store, matching.name_key(value))
        if len(ids) == 1:
            return ids[0]
        if ids:
            return f"{value!r} names {len(ids)} customers; use the customer number (客户编号)"
        return f"no customer {value!r} (by customer number, id or name)"
