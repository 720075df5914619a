"""The rejects workbook: every rejected row as it was read, with an "error" column."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crmcli.operations.import_report import ImportReport


def default_rejects_path(path: Path) -> Path:
    suffix = ".csv" if path.suffix.lower() in {".csv", ".tsv", ".txt", ".tab"} else ".xlsx"
    return path.with_name(f"{path.stem}.rejects{suffix}")


def _safe_cell(value: object) -> object:
    """A rejected row's cell as written back: text (phones stay digits), dates as dates, and
    never a refused number (the rejects file must not become a second copy of one)."""
    import datetime as dt

    from crmcli.sensitive import find_sensitive
    from crmcli.sheets import cell_text

    if isinstance(value, dt.date):
        return value
    text = cell_text(value)
    if text and len(text) >= 9:
        found = find_sensitive(text)
        if found is not None:
            return f"[refused: {found.hint}]"
    return text


def write_rejects(report: ImportReport, source: Path, target: Path | None) -> None:
    from crmcli.sheets import SheetSpec, write_csv, write_xlsx

    path = Path(target) if target else default_rejects_path(source)
    specs = []
    for result in report.sheets:
        if not result.rejects:
            continue
        refused = {h for h in result.dropped_columns}
        headers = [h or f"Column {i + 1}" for i, h in enumerate(result.headers)]
        width = len(headers)
        rows = []
        for _, cells, error in result.rejects:
            cells = (cells + [None] * width)[:width]
            out = [
                None if result.headers[i] in refused else _safe_cell(v) for i, v in enumerate(cells)
            ]
            rows.append([*out, error])
        text_columns = set(headers)
        specs.append(SheetSpec(result.sheet or "Rejects", [*headers, "error"], rows, text_columns))
    try:
        if path.suffix.lower() == ".csv":
            write_csv(path, specs[0].columns, specs[0].rows)
        else:
            write_xlsx(path, specs)
    except OSError as exc:
        report.rejects_error = f"could not write {path}: {exc.strerror or exc}"
        return
    report.rejects_file = str(path)
