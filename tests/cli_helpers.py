"""Running crmcli for the CLI tests: in-process (exit code, stdout and stderr kept apart), or as
a process on a pseudo-terminal for what only happens on a terminal (prompts)."""

from __future__ import annotations

import os
import re
import select
import signal
import sys
import time

from typer.testing import CliRunner

from crmcli.cli import app

runner = CliRunner()


def crm(*args: str, input: str | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); an unexpected exception is re-raised, not hidden."""
    result = runner.invoke(app, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> str:
    """stdout of a command that must succeed."""
    code, out, err = crm(*args)
    assert code == 0, err
    return out


_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # styles, the cursor


def on_terminal(
    args: list[str], answers: list[str], *, prompt: bytes, enter: bytes = b"\r", timeout: float = 60
) -> tuple[int, str]:
    """Run `crmcli ARGS` on a pseudo-terminal that is its controlling terminal (as a shell gives
    it: getpass reads /dev/tty), typing each answer once the next `prompt` shows; (exit code,
    the screen without escape codes). Every answer must have been asked for. POSIX only."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: crmcli with the terminal as stdin, stdout and stderr
        os.execv(sys.executable, [sys.executable, "-m", "crmcli", *args])
    seen, pending = b"", list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            # Answer each prompt only once it shows: getpass flushes typed-ahead input.
            if pending and seen.count(prompt) > len(answers) - len(pending):
                os.write(fd, pending.pop(0).encode() + enter)
        else:
            os.kill(pid, signal.SIGKILL)  # out of time: the output says where it hung
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    screen = _ESCAPES.sub("", seen.decode(errors="replace"))
    assert not pending, f"prompts not reached: {pending}\n{screen}"
    return os.waitstatus_to_exitcode(status), screen
