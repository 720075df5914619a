"""The work of a customers import that needs no database, done ahead: in a second process when
the machine has a core to spare.

For every row of a chunk `prepare_chunk` validates the cells (`import_rows`), takes the keyed
hashes of its contacts, builds the record the duplicate matcher compares
(`import_duplicates.row_record`, its blocking keys computed) and everything the row writes if
it becomes a new customer (`bulk.insertable`: its row, encrypted contacts, search index).
Whether it does is decided later, against the database, by `import_customers`; a row that
updates a customer or is skipped just drops what was prepared for it.

This is over half of an import's CPU (pinyin, phone parsing, hashing, encryption: ~60% of a
20k import, profiled), and none of it depends on other rows. So with two or more cores a
forked worker prepares chunk N+1 while the main process matches and writes chunk N. Chunks
come back pickled through a pipe (~40 µs a row to pickle in the worker, ~80 µs to unpickle in
the main process, against ~300 µs of work moved; measured at 20k rows), at most one chunk
ahead, so memory stays flat on a million rows. Without `fork` (Windows) or
a second core, or for a sheet of a few chunks, the same function runs in-process.
"""

from __future__ import annotations

import gc
import os
import pickle
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crmcli.errors import CrmError
from crmcli.operations import import_duplicates as dups
from crmcli.operations.import_rows import CustomerRow, CustomerRows, Rejected
from crmcli.store import bulk

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from crmcli.credentials import Vault

Chunk = list[tuple[int, list[object]]]  # (row number, cells)

_MIN_CHUNKS = 3  # smaller sheets are prepared in-process: forking costs more than it saves


@dataclass(slots=True)
class ContactHashes:
    """Keyed hashes of a row's contact details: (E.164 or None, last 8) per phone; emails."""

    phones: list[tuple[str | None, str]] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PreparedRow:
    """One row, ready for matching: validated, hashed, as the matcher sees it, and what it
    would write as a new customer (None for a row without a name: it cannot be one)."""

    row: CustomerRow
    contacts: ContactHashes
    record: dups.ms.MatchRecord
    new: bulk.Insertable | None
    cells: list[object]  # kept only for a row the main process may still reject (no name)


@dataclass(slots=True)
class RejectedRow:
    number: int
    cells: list[object]
    column: str
    reason: str


@dataclass(slots=True)
class SkippedRow:
    """A row with nothing in any imported column."""

    number: int


Prepared = PreparedRow | RejectedRow | SkippedRow


def new_fields(row: CustomerRow) -> dict[str, Any]:
    """The fields a row's new customer is created with: the row's, with the defaults."""
    fields = dict(row.fields)
    fields.setdefault("kind", "person")
    fields.setdefault("status", "lead")
    return fields


def contact_hashes(row: CustomerRow, vault: Vault | None) -> ContactHashes:
    contacts = ContactHashes()
    if vault is None:
        return contacts
    for phone in row.phones:
        e164 = vault.blind("e164", phone.e164) if phone.e164 else None
        contacts.phones.append((e164, vault.blind("tail8", phone.tail8)))
    contacts.emails = [vault.blind("email", e) for e in row.emails]
    return contacts


def prepare_chunk(
    reader: CustomerRows, vault: Vault | None, stamp: str, chunk: Chunk
) -> list[Prepared]:
    """Every row of a chunk, prepared (pure: reads no database, writes nothing)."""
    out: list[Prepared] = []
    for number, cells in chunk:
        try:
            row = reader.read(number, cells)
        except Rejected as exc:
            out.append(RejectedRow(number, cells, exc.column, exc.reason))
            continue
        if row is None:
            out.append(SkippedRow(number))
            continue
        contacts = contact_hashes(row, vault)
        tail8 = [t for _, t in contacts.phones]
        record = dups.row_record(row.fields, row.phones, tail8, contacts.emails)
        record.keys  # noqa: B018 - computed here, in the worker, not by the matcher
        new = None
        if row.fields.get("name"):
            fields = new_fields(row)
            new = bulk.insertable(fields, row.phones, row.emails, row.tags, vault, stamp)
        out.append(PreparedRow(row, contacts, record, new, [] if new else cells))
    return out


def prepared_chunks(
    reader: CustomerRows,
    vault: Vault | None,
    stamp: str,
    chunks: Iterable[Chunk],
    *,
    parallel: bool,
) -> Iterator[list[Prepared]]:
    """The chunks, prepared in order; by a forked worker when `parallel` and the platform can
    fork (see the module docstring)."""
    if not (parallel and _can_fork()):
        for chunk in chunks:
            yield prepare_chunk(reader, vault, stamp, chunk)
        return
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    worker = context.Process(
        target=_work,
        args=(sending, receiving, reader, vault, stamp, chunks),
        name="crmcli-import-prepare",
        daemon=True,  # never outlives a normal exit of the import
    )
    # The worker's collector runs (see _work), but never over the heap it shares with this
    # process: frozen, it is not walked, and so not copied page by page.
    gc.freeze()
    with warnings.catch_warnings():
        # Python 3.12+ warns when a process with threads forks (a progress bar refreshes from
        # one): a lock another thread held would stay locked in the child. The worker only
        # computes and writes to its own pipe, so it takes none of them.
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        worker.start()
    sending.close()  # the worker's end: when the worker is gone, recv() ends instead of waiting
    try:
        while True:
            try:
                item = receiving.recv()
            except EOFError:  # it died without a word: killed, out of memory
                worker.join()
                raise CrmError(
                    "the process preparing rows stopped unexpectedly"
                    f" (exit code {worker.exitcode}); nothing was imported",
                    hint="run the import again, or with --no-parallel",
                ) from None
            if item is None:
                break
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        if worker.is_alive():
            worker.kill()  # the import stopped early: a bad row under --strict, an error, ^C
        worker.join()
        receiving.close()
        gc.unfreeze()


def worth_forking(total_rows: int | None, chunk_rows: int) -> bool:
    """Whether preparing in a worker can pay: fork exists, a second core is free to us, and
    the sheet has more than a few chunks (or an unknown number)."""
    if not _can_fork():
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cores or 1) < 2:
        return False
    return total_rows is None or total_rows > _MIN_CHUNKS * chunk_rows


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()  # not on Windows


@dataclass
class _Failed:
    error: BaseException


def _work(
    sending: Connection,
    receiving: Connection,
    reader: CustomerRows,
    vault: Vault | None,
    stamp: str,
    chunks: Iterable[Chunk],
) -> None:
    """The worker: prepare chunk after chunk, then None; an error goes to the main process to
    raise (a file that breaks mid-way is the import's error, not a worker's traceback).

    A plain pipe, no queue: sending blocks until the main process has taken the chunk before
    (one chunk prepared ahead, memory flat), and fails once the main process is gone, so a
    killed import leaves no worker behind. It lets go of the main process's stdout and stderr,
    writing nothing itself: a script waiting for them to close is not kept waiting either.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C is the main process's to handle
    # The parent pauses its collector for the import (`CustomerImport.run`); here it runs, over
    # what was not frozen: without it this process held ~6% more memory at 100k rows (295
    # against 278 MB, measured), which a 1M import's 1 GB budget cannot spare.
    gc.enable()
    receiving.close()  # the main process's end; with it held here, writes would never fail
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    pending = iter(chunks)
    while True:
        try:
            chunk = next(pending, None)
            item = None if chunk is None else prepare_chunk(reader, vault, stamp, chunk)
        except Exception as exc:
            _send(sending, _Failed(_picklable(exc)))
            return
        if not _send(sending, item) or item is None:
            return
        gc.freeze()  # what survives a chunk is caches: not walked again


def _send(sending: Connection, item: object) -> bool:
    try:
        sending.send(item)
    except OSError:  # EPIPE: the main process is gone, and the import with it
        return False
    return True


def _picklable(exc: Exception) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return CrmError(f"import failed: {exc}")
    return exc
