"""`dedupe --review` on a real terminal (a pseudo-terminal): merge, skip, "not duplicates"."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time

import pytest
from cli_helpers import ok

pty = pytest.importorskip("pty")

PROMPT_END = b"]: "  # typer.prompt's "… [default]: "
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # styles, the cursor


def on_terminal(args: list[str], answers: list[str], timeout: float = 60) -> tuple[int, str]:
    """Run `crmcli ARGS` with a pseudo-terminal as stdin, stdout and stderr, answering each
    prompt in turn; (exit code, everything the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "crmcli", *args], stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    seen, pending = b"", list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            answered = len(answers) - len(pending)
            if pending and seen.count(PROMPT_END) > answered:
                os.write(master, pending.pop(0).encode() + b"\r")
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert not pending, f"prompts not reached: {pending}\n{seen.decode(errors='replace')}"
    return code, ESCAPES.sub("", seen.decode(errors="replace"))


@pytest.fixture
def people() -> None:
    ok("init")
    ok("add", "张伟", "--company", "深圳某某科技有限公司", "-p", "13812345678")
    ok("add", "張偉", "--company", "深圳某某科技", "-p", "+86 138-1234-5678")
    ok("add", "Robert Smith", "--company", "Acme Inc.", "-p", "(415) 555-0134")
    ok("add", "Bob Smith", "--company", "ACME Incorporated", "-p", "+1 415 555 0134")
    ok("add", "Laura Chen", "-p", "415.555.0172")
    ok("add", "Laura Chen", "-p", "415.555.0127")  # a swapped digit: only possible


def groups() -> list[list[int]]:
    found: dict[int, list[int]] = {}
    for row in json.loads(ok("dedupe", "--format", "json")):
        found.setdefault(row["group"], []).append(row["id"])
    return list(found.values())


def test_review_merges_skips_and_remembers_not_duplicates(people: None) -> None:
    assert groups() == [[1, 2], [3, 4], [5, 6]]
    # Group 1: merge, keeping #2 (not the suggested survivor); 2: skip; 3: not duplicates.
    code, shown = on_terminal(["dedupe", "--review"], ["m", "2", "s", "n"])
    assert code == 0, shown
    assert "Group 1 likely" in shown and "Keep which id" in shown
    assert "Merge 1: #1 张伟 -> #2 張偉" in shown
    assert "Remembered: these will not be proposed again." in shown
    assert "Reviewed: 1 merged, 1 marked not duplicates, 1 skipped." in shown
    merges = json.loads(ok("merges", "--format", "json"))
    assert [(m["survivor_id"], m["merged_ids"]) for m in merges] == [(2, [1])]
    assert groups() == [[3, 4]]  # merged and refused groups are not proposed again

    code, shown = on_terminal(["dedupe", "--review"], ["q"])
    assert code == 0, shown
    assert "Bob Smith" in shown and "Laura Chen" not in shown
    assert "Reviewed: 0 merged, 0 marked not duplicates, 0 skipped." in shown


def test_review_asks_again_for_a_survivor_outside_the_group(people: None) -> None:
    code, shown = on_terminal(["dedupe", "--review"], ["m", "5", "#1", "q"])
    assert code == 0, shown
    assert "Choose one of: 1, 2" in shown
    assert "Merge 1: #2 張偉 -> #1 张伟" in shown
