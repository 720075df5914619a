"""The exit codes (the contract scripts branch on) and the error classes that carry them.

Every expected failure is raised as a `CrmError` subclass; the CLI turns it into one line
`Error: …` on stderr and the class's exit code. Messages never contain secrets or the
sensitive numbers that were refused.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    NOT_FOUND = 3  # or ambiguous
    REPORT_NOT_EMPTY = 4  # only when --fail-if-any asks
    DATA_ERR = 65  # bad or refused input data
    NO_INPUT = 66  # input file missing or unreadable
    BUSY = 75  # database busy, retry later
    WRONG_KEY = 77
    NOT_CONFIGURED = 78  # no key available, no database, newer schema


class CrmError(Exception):
    """An expected failure: a message for the user and an exit code for scripts."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(CrmError):
    exit_code = ExitCode.USAGE


class NeedsConfirmation(UsageError):
    """A prompt would be needed but there is no terminal: the flag that answers it is named."""


class NotFound(CrmError):
    exit_code = ExitCode.NOT_FOUND


class Ambiguous(NotFound):
    """A name or phone fragment matched several customers; `candidates` lists them."""

    def __init__(self, message: str, candidates: list[dict]) -> None:
        super().__init__(message)
        self.candidates = candidates


class InvalidInput(CrmError):
    """Bad or refused input data (a value that cannot be parsed or must not be stored)."""

    exit_code = ExitCode.DATA_ERR


class SensitiveDataRefused(InvalidInput):
    """A national ID, bank card, IBAN or SSN was found; the message names only its kind."""


class InputFileError(CrmError):
    exit_code = ExitCode.NO_INPUT


class DatabaseBusy(CrmError):
    exit_code = ExitCode.BUSY


class WrongKey(CrmError):
    exit_code = ExitCode.WRONG_KEY


class NotConfigured(CrmError):
    exit_code = ExitCode.NOT_CONFIGURED
