"""Commands for duplicates: dedupe (list, review, merge the sure ones, review in Excel), merge,
unmerge, merges (the journal) and clean (a one-off workbook cleanup)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crmcli import render
from crmcli.commands import app
from crmcli.commands.shared import (
    DbOption,
    FormatOption,
    KeyFileOption,
    YesOption,
    confirm,
    handle_errors,
    open_db,
)
from crmcli.errors import NeedsConfirmation, UsageError
from crmcli.render import Format

if TYPE_CHECKING:
    from crmcli.operations.dedupe import DedupeReport, DuplicateGroup, FoundClusters
    from crmcli.store import Store

MinScore = Annotated[
    float | None,
    typer.Option("--min-score", help="Show groups whose weakest link scores at least this."),
]
MaxBlock = Annotated[
    int,
    typer.Option(
        "--max-block",
        min=2,
        help="Compare customers sharing a phone or email only when at most this many share it"
        " (a name: a quarter of this).",
    ),
]
NO_TERMINAL = (
    "--review needs a terminal; without one use `crmcli dedupe --merge-likely --yes`,"
    " `crmcli dedupe --review-file pairs.xlsx` then `--apply pairs.xlsx`, or `crmcli merge ID ID`"
)


def _summary(report: DedupeReport | FoundClusters) -> None:
    likely, count = report.likely, report.group_count
    possible = count - likely
    render.message(
        f"{count} group(s) of duplicates ({likely} likely, {possible} possible)"
        f" among {report.customers} customers; {report.candidate_pairs} candidate pairs"
        f" compared in {report.seconds:.1f} s."
    )
    if report.skipped:
        top = ", ".join(f"{b.what} ({b.size})" for b in report.skipped[:3])
        render.warn(
            f"{len(report.skipped)} key(s) shared by too many customers were not expanded into"
            f" pairs: {top}; such customers were compared only when something else matched"
            " (raise --max-block to compare them all)"
        )


def _find(store: Store, min_score: float | None, max_block: int) -> DedupeReport:
    from crmcli.operations import dedupe as dedupe_ops

    with render.progress(None, "Finding duplicates") as tick:
        return dedupe_ops.find_groups(store, min_score=min_score, max_block=max_block, tick=tick)


def _list(store: Store, min_score: float | None, max_block: int, fmt: Format) -> None:
    """The listing, written as the groups are built (their rows are read a slice at a time)."""
    from crmcli.operations import dedupe as dedupe_ops

    with render.progress(None, "Finding duplicates") as tick:
        found = dedupe_ops.find_clusters(store, min_score=min_score, max_block=max_block, tick=tick)
    groups = dedupe_ops.iter_groups(store, found.clusters)
    render.duplicate_groups(groups, dedupe_ops.iter_member_rows(groups), fmt)
    _summary(found)


@app.command()
@handle_errors
def dedupe(
    min_score: MinScore = None,
    review: Annotated[
        bool, typer.Option("--review", help="Walk the groups on a terminal: merge, skip, or not.")
    ] = False,
    merge_likely: Annotated[
        bool,
        typer.Option("--merge-likely", help="Merge every group whose weakest link is likely."),
    ] = False,
    review_file: Annotated[
        Path | None,
        typer.Option(
            "--review-file", help="Write the groups to a workbook with a decision column."
        ),
    ] = None,
    apply: Annotated[
        Path | None,
        typer.Option("--apply", help="Apply the decisions made in a --review-file workbook."),
    ] = None,
    max_block: MaxBlock = 100,
    yes: YesOption = False,
    db: DbOption = None,
    key_file: KeyFileOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Find groups of duplicate customers, each with the reasons; review or merge them.

    Groups come most certain first, in two bands: likely and possible.
    """

    if sum(map(bool, (review, merge_likely, review_file, apply))) > 1:
        raise UsageError("choose one of --review, --merge-likely, --review-file, --apply")
    if review and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise NeedsConfirmation(NO_TERMINAL)
    with open_db(db, "dedupe", key_file=key_file) as store:
        if apply is not None:
            _apply(store, apply, yes)
            return
        if not (review or merge_likely or review_file):
            _list(store, min_score, max_block, fmt)
            return
        report = _find(store, min_score, max_block)
        if review_file is not None:
            from crmcli.operations import dedupe_review

            dedupe_review.write_review_file(review_file, report)
            _summary(report)
            render.message(
                f"Wrote {review_file}: fill the decision column (keep / merge / not), then run"
                f" `crmcli dedupe --apply {review_file}`."
            )
            return
        if merge_likely:
            _merge_likely(store, report, yes, fmt)
            return
        _review(store, report)


def _merge_likely(store: Store, report: DedupeReport, yes: bool, fmt: Format) -> None:
    from crmcli.operations import merging

    groups = [g for g in report.groups if g.band == "likely"]
    if not groups:
        _summary(report)
        render.message("No likely duplicates to merge.")
        return
    count = sum(len(g.members) for g in groups)
    if not confirm(f"Merge {len(groups)} likely group(s) ({count} customers)?", yes):
        render.message("Nothing merged.")
        return
    plan: list[tuple[list[int], int | None, list[str]]] = [
        ([m["id"] for m in g.members], g.survivor, g.pairs[0]["reasons"]) for g in groups
    ]
    results, backup = merging.merge_groups(store, plan, backup_reason="dedupe-merge-likely")
    if backup:
        render.message(f"Backup before merging: {backup}")
    _announce_merges(results, fmt)


def _announce_merges(results: list, fmt: Format) -> None:
    rows = [
        {
            "merge_id": r.merge_id,
            "survivor_id": r.survivor_id,
            "survivor_name": r.survivor_name,
            "merged_ids": [i for i, _ in r.merged],
            "filled": r.filled,
        }
        for r in results
    ]
    if fmt is not Format.table:
        render.emit(
            rows,
            [],
            fmt,
            fields=("merge_id", "survivor_id", "survivor_name", "merged_ids", "filled"),
        )
    for r in results:
        merged = ", ".join(f"#{i} {n}" for i, n in r.merged)
        render.message(
            f"Merge {r.merge_id}: {merged} -> #{r.survivor_id} {r.survivor_name}"
            f" (undo: crmcli unmerge {r.merge_id})"
        )


def _review(store: Store, report: DedupeReport) -> None:
    from crmcli.operations import merging

    if not report.groups:
        _summary(report)
        return
    backed_up = False
    merged = skipped = refused = 0
    for group in report.groups:
        render.duplicate_group(group)
        answer = (
            typer.prompt(
                "[m]erge, [s]kip, [n]ot duplicates, [q]uit", default="s", show_default=True
            )
            .strip()
            .lower()[:1]
        )
        if answer == "q":
            break
        if answer == "n":
            merging.mark_not_duplicates(store, [m["id"] for m in group.members])
            refused += 1
            render.message("Remembered: these will not be proposed again.")
        elif answer == "m":
            keep = _ask_survivor(group)
            if not backed_up:
                from crmcli.store.backup import auto_backup

                render.message(f"Backup before merging: {auto_backup(store, 'dedupe-review')}")
                backed_up = True
            result = merging.merge(
                store,
                [m["id"] for m in group.members],
                keep=keep,
                reasons=group.pairs[0]["reasons"],
            )
            merged += 1
            _announce_merges([result], Format.table)
        else:
            skipped += 1
    render.message(
        f"Reviewed: {merged} merged, {refused} marked not duplicates, {skipped} skipped."
    )


def _ask_survivor(group: DuplicateGroup) -> int:
    ids = [m["id"] for m in group.members]
    while True:
        keep = typer.prompt("Keep which id", default=str(group.survivor)).strip().lstrip("#")
        if keep.isascii() and keep.isdigit() and int(keep) in ids:
            return int(keep)
        render.message(f"Choose one of: {', '.join(map(str, ids))}")


def _apply(store: Store, path: Path, yes: bool) -> None:
    from crmcli.operations import dedupe_review

    plan = dedupe_review.read_review_file(path)
    if not plan.merges and not plan.not_duplicates:
        render.message(f"No decisions in {path}: nothing to do.")
        for problem in plan.problems:
            render.warn(problem)
        return
    what = f"{len(plan.merges)} merge(s), {len(plan.not_duplicates)} 'not duplicates' group(s)"
    if not confirm(f"Apply {what} from {path.name}?", yes):
        render.message("Nothing applied.")
        return
    result = dedupe_review.apply_review(store, plan)
    if result.backup:
        render.message(f"Backup before merging: {result.backup}")
    _announce_merges(result.merges, Format.table)
    if result.not_duplicate_pairs:
        render.message(f"Remembered {result.not_duplicate_pairs} pair(s) as not duplicates.")
    for problem in [*plan.problems, *result.problems]:
        render.warn(problem)


@app.command()
@handle_errors
def merge(
    refs: Annotated[list[str], typer.Argument(help="Two or more customer ids.")],
    keep: Annotated[
        str | None, typer.Option("--keep", help="The customer to keep (default: most complete).")
    ] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Merge customers into one: nothing is lost, and `unmerge` undoes it."""
    from crmcli.operations import merging
    from crmcli.operations.search import resolve

    with open_db(db, "merge") as store:
        ids = [resolve(store, ref) for ref in refs]
        keep_id = resolve(store, keep) if keep else None
        result = merging.merge(store, ids, keep=keep_id, reasons=["merged by hand"])
    _announce_merges([result], fmt)


@app.command()
@handle_errors
def unmerge(
    merge_id: Annotated[int, typer.Argument(help="The merge to undo (see `crmcli merges`).")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Undo even if the survivor changed since (needed off a terminal)."
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Undo a merge: every customer and interaction back as before it."""
    from crmcli.operations import merging

    with open_db(db, "unmerge") as store:
        plan = merging.plan_unmerge(store, merge_id)
        if plan.changes and not force:
            render.message(f"Customer #{plan.survivor_id} changed since merge {merge_id}:")
            for change in plan.changes:
                render.message(f"  {change}")
            if not sys.stdin.isatty():
                raise NeedsConfirmation(
                    f"undoing merge {merge_id} would undo those changes; there is no terminal"
                    " to ask: pass --force"
                )
            if not typer.confirm(
                "Undo the merge anyway (these changes are undone)?", default=False
            ):
                render.message("Nothing undone.")
                return
        plan = merging.unmerge(store, merge_id, force=True)
    restored = ", ".join(f"#{i} {n}" for i, n in plan.restored)
    render.message(f"Undid merge {merge_id}: restored {restored}.")
    for note in plan.kept:
        render.message(f"  {note}")


@app.command()
@handle_errors
def merges(
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="Newest N only.")] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The merge journal, newest first (undo one with `crmcli unmerge ID`)."""
    from crmcli.operations import merging

    with open_db(db, "merges") as store:
        rows = merging.list_merges(store, limit)
    render.merges(rows, fmt)


@app.command()
@handle_errors
def clean(
    source: Annotated[Path, typer.Argument(help="The workbook or CSV to clean.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The clean workbook to write.")],
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Sheet name (default: first).")
    ] = None,
    review: Annotated[
        bool, typer.Option("--review", help="Decide each group on a terminal instead.")
    ] = False,
    min_score: MinScore = None,
    fmt: FormatOption = Format.table,
) -> None:
    """One-off cleanup of a workbook, without touching your database.

    Normalises every row, merges the likely duplicates and writes OUT with three sheets: the
    clean customers, the merges made (and why), and the rows that need a person.
    """
    from crmcli.operations import cleaning

    if review and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise NeedsConfirmation(
            "--review needs a terminal; without one `clean` merges the likely duplicates and"
            " lists the possible ones in the workbook's review sheet"
        )
    if output.resolve() == source.resolve():
        raise UsageError("write the clean workbook to another file (-o): the original is kept")
    decide = _clean_decider() if review else None
    report = cleaning.clean(source, output, sheet=sheet, min_score=min_score, decide=decide)
    if fmt is not Format.table:
        render.data(report.as_dict())
    render.message(
        f"Read {report.rows} row(s): {report.customers} customer(s) written to {output}"
        f" ({len(report.merges)} merge(s), {report.review_groups} group(s) to review,"
        f" {report.rejected} row(s) rejected)."
    )


def _clean_decider() -> Callable[[DuplicateGroup], tuple[str, int | None]]:
    def decide(group: DuplicateGroup) -> tuple[str, int | None]:
        render.duplicate_group(group)
        answer = typer.prompt("[m]erge, [s]kip", default="m" if group.band == "likely" else "s")
        if answer.strip().lower().startswith("m"):
            return "merge", _ask_survivor(group)
        return "skip", None

    return decide
