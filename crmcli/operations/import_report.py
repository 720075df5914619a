"""What an import is asked to do and what it did: options, the plan, results per sheet.

`ImportOptions` and `ImportPlan` go in (see `importing`), an `ImportReport` with one
`SheetResult` per sheet comes out; `SheetImport` is what the customers and interactions
importers share: reading a sheet in chunks and recording rejected rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import InvalidInput
from crmcli.operations import import_duplicates as dups

if TYPE_CHECKING:
    from crmcli.sheets import HeaderMap, Sheet


@dataclass
class Problem:
    sheet: str | None
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass
class SheetResult:
    """What happened to one sheet; `rejects` holds the raw rows for the rejects workbook."""

    sheet: str | None
    kind: str  # "customers" or "interactions"
    header_row: int
    headers: list[str]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: int = 0
    dropped_columns: list[str] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)
    kept_columns: list[str] = field(default_factory=list)
    masked_skipped: int = 0
    duplicates: dups.DuplicateSummary = field(default_factory=dups.DuplicateSummary)
    problems: list[Problem] = field(default_factory=list)
    rejects: list[tuple[int, list[object], str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "rejected": self.rejected,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "kind": self.kind,
            "header_row": self.header_row,
            **self.counts(),
            "dropped_columns": self.dropped_columns,
            "unmapped_columns": self.unmapped_columns,
            "kept_columns": self.kept_columns,
            "masked_values_skipped": self.masked_skipped,
            "possible_duplicates": self.duplicates.total,
            "problems": [
                {"row": p.row, "column": p.column, "reason": p.reason} for p in self.problems
            ],
            **({"duplicates": self.duplicates.as_dict()} if self.kind == "customers" else {}),
        }


@dataclass
class ImportReport:
    file: str
    dry_run: bool
    sheets: list[SheetResult]
    rejects_file: str | None = None
    rejects_error: str | None = None
    review_error: str | None = None
    backup: str | None = None
    unused_overrides: list[str] = field(default_factory=list)

    def total(self, name: str, kind: str | None = None) -> int:
        return sum(getattr(s, name) for s in self.sheets if kind is None or s.kind == kind)

    @property
    def imported_anything(self) -> bool:
        return any(s.created or s.updated or s.unchanged for s in self.sheets)

    def as_dict(self) -> dict[str, Any]:
        customers = [s for s in self.sheets if s.kind == "customers"]
        names = ("created", "updated", "unchanged", "skipped", "rejected")
        return {
            "file": self.file,
            "dry_run": self.dry_run,
            **{n: sum(getattr(s, n) for s in customers) for n in names},
            "interactions": {
                n: self.total(n, "interactions")
                for n in ("created", "unchanged", "skipped", "rejected")
            },
            "duplicates": next(
                (s.duplicates.as_dict() for s in customers), dups.DuplicateSummary().as_dict()
            ),
            "sheets": [s.as_dict() for s in self.sheets],
            "rejects_file": self.rejects_file,
            "backup": self.backup,
        }


@dataclass
class ImportOptions:
    overrides: dict[str, str] = field(default_factory=dict)
    keep_extra: bool = False
    overwrite: bool = False
    strict: bool = False
    dry_run: bool = False
    rejects: Path | None = None  # default: beside the input
    on_duplicate: str = "create"  # a row likely duplicating a customer: see import_duplicates
    review_file: Path | None = None  # --on-duplicate review; default: beside the input
    # Prepare rows in a second process (import_prepare): None decides by cores and size.
    parallel: bool | None = None


@dataclass
class PlannedSheet:
    sheet: Sheet
    kind: str
    header_map: HeaderMap
    source_id_column: int | None
    external_id_column: int | None  # interactions: a customer-number column besides "customer"


@dataclass
class ImportPlan:
    path: Path
    sheets: list[PlannedSheet]
    unused_overrides: list[str]

    @property
    def total_rows(self) -> int | None:
        totals = [p.sheet.total_rows for p in self.sheets]
        return None if any(t is None for t in totals) else sum(t or 0 for t in totals)


class SheetImport:
    """What the two sheet importers share: rejecting rows and reading in chunks."""

    def __init__(self, planned: PlannedSheet, options: ImportOptions, result: SheetResult):
        self.planned = planned
        self.options = options
        self.result = result

    def reject(self, number: int, cells: Sequence[object], column: str, reason: str) -> None:
        result = self.result
        self.on_reject(cells)
        problem = Problem(result.sheet, number, column, reason)
        if self.options.strict:
            where = f"sheet {result.sheet}, " if result.sheet else ""
            raise InvalidInput(f"{where}{problem}; nothing was imported (--strict)")
        result.rejected += 1
        result.problems.append(problem)
        result.rejects.append((number, list(cells), str(problem)))

    def on_reject(self, cells: Sequence[object]) -> None:
        """Hook: remember what a rejected row was (its customer number)."""

    def chunks(self, size: int) -> Iterator[list[tuple[int, list[object]]]]:
        chunk: list[tuple[int, list[object]]] = []
        for item in self.planned.sheet.rows:
            chunk.append(item)
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
