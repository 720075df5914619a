"""Timing whole processes for the crmcli benchmarks, and printing the figures as Markdown.

    from timing import measure, print_table
    row = {"what": "search x", **measure([sys.executable, "-m", "crmcli", "search", "x"])}
    print_table([row], ["what", "median_ms", "p90_ms", "peak_rss_mb"])

Every run is a fresh process (that is what a script calling crmcli pays): stdin and stdout go to
/dev/null, so nothing can prompt and no terminal rendering is timed. The clock is
``time.perf_counter`` around start-to-exit of the child; the peak resident set size of each
child comes from ``os.wait4`` (the kernel's per-child rusage), so no ``/usr/bin/time`` wrapper
adds its own start-up to the figure.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

MB = 1024 * 1024


def _run_once(
    cmd: Sequence[str], env: Mapping[str, str] | None, cwd: str | None
) -> tuple[float, int, float | None]:
    """One child process: (elapsed ms, exit code, peak RSS in MB or None)."""
    started = time.perf_counter()
    if not hasattr(os, "wait4"):  # not Unix: no per-child rusage
        code = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env, cwd=cwd
        ).returncode
        return (time.perf_counter() - started) * 1000, code, None
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env, cwd=cwd
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter() - started) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    rss_kb = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024
    return elapsed, proc.returncode, rss_kb * 1024 / MB


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, summed from /proc (Linux). Pages a
    forked child still shares with its parent count twice: an upper bound."""
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
            with open(f"/proc/{current}/task/{current}/children") as children:
                todo += [int(c) for c in children.read().split()]
        except (OSError, ValueError):
            continue  # gone meanwhile
    return total_kb / 1024


def run_tree(
    cmd: Sequence[str], env: Mapping[str, str] | None, cwd: str | None, every: float = 0.1
) -> dict[str, Any]:
    """One run of a command that may fork workers (Unix): wall seconds, CPU seconds (user +
    sys of the process and the workers it waited for, from the kernel), exit code, the largest
    process's peak RSS, and the peak of the tree's summed RSS (sampled every `every` s from
    /proc: Linux only, else None)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env, cwd=cwd
    )
    tree_peak = 0.0
    sampled = os.path.exists(f"/proc/{proc.pid}/status")
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if sampled:
            tree_peak = max(tree_peak, _tree_rss_mb(proc.pid))
        time.sleep(every)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    rss_kb = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024
    return {
        "s": elapsed,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "code": proc.returncode,
        "peak_rss_mb": rss_kb / 1024,
        "tree_rss_mb": tree_peak if sampled else None,
    }


def measure(
    cmd: Sequence[str],
    runs: int = 10,
    env: Mapping[str, str] | None = None,
    *,
    warmup: int = 1,
    expect: Collection[int] = (0,),
    cwd: str | None = None,
) -> dict[str, float]:
    """Run ``cmd`` ``warmup`` + ``runs`` times; return median, min and p90 ms and peak RSS MB.

    ``env`` entries are added to (and override) the current environment. An exit code outside
    ``expect`` raises ``subprocess.CalledProcessError`` carrying the child's stderr, so a broken
    command is never reported as a fast one.
    """
    full_env = {**os.environ, **env} if env is not None else None
    times: list[float] = []
    peak: float | None = None
    for i in range(warmup + runs):
        elapsed, code, rss = _run_once(cmd, full_env, cwd)
        if code not in expect:
            failed = subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=cwd)
            raise subprocess.CalledProcessError(code, list(cmd), failed.stdout, failed.stderr)
        if i >= warmup:
            times.append(elapsed)
            if rss is not None:
                peak = rss if peak is None else max(peak, rss)
    p90 = statistics.quantiles(times, n=10, method="inclusive")[-1] if len(times) > 1 else times[0]
    result = {
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "p90_ms": p90,
        "runs": float(runs),
    }
    if peak is not None:
        result["peak_rss_mb"] = peak
    return result


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() and abs(value) >= 100 else f"{value:.1f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows as a plain Markdown table (numbers right-aligned), ready for benchmarks/README.md."""
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    numeric = [
        all(isinstance(row.get(col), int | float) for row in rows if row.get(col) is not None)
        for col in columns
    ]
    widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        padded = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * (w - 1) + ":" if num else "-" * w for w, num in zip(widths, numeric, strict=True)]
    return "\n".join([line(columns), line(rule), *(line(r) for r in cells)])


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Print ``markdown_table(rows, columns)`` to stdout."""
    print(markdown_table(rows, columns))


if __name__ == "__main__":  # a smoke test: the floor against a bare interpreter
    here = os.path.dirname(os.path.abspath(__file__))
    rows = [
        {"what": "python -c pass", **measure([sys.executable, "-c", "pass"])},
        {
            "what": "hello_typer.py hello",
            **measure([sys.executable, os.path.join(here, "hello_typer.py"), "hello"]),
        },
    ]
    print_table(rows, ["what", "median_ms", "min_ms", "p90_ms", "peak_rss_mb"])
