"""`dedupe --review` on a real terminal (a pseudo-terminal): merge, skip, "not duplicates"."""

from __future__ import annotations

import json
import os

import cli_helpers
import pytest
from cli_helpers import ok

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a POSIX pseudo-terminal")

PROMPT_END = b"]: "  # typer.prompt's "… [default]: "


def on_terminal(args: list[str], answers: list[str]) -> tuple[int, str]:
    return cli_helpers.on_terminal(args, answers, prompt=PROMPT_END)


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
