"""Shared helpers of the benchmark scripts: machine description, medians, RESULTS.md sections.

Each benchmark script measures, prints a markdown table, saves its raw figures as JSON under
``benchmarks/results/`` and replaces its own section of ``benchmarks/RESULTS.md`` (between
``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers), so sections can be refreshed one
at a time.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_MD = HERE / "RESULTS.md"
RESULTS_DIR = HERE / "results"


def machine() -> str:
    """One line: CPU model, core count, Python and key library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def save_json(name: str, payload: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json`` with date, machine and command added."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": _dt.date.today().isoformat(),
        "machine": machine(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        **payload,
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def update_section(name: str, title: str, body: str) -> None:
    """Replace (or append) the section ``name`` of RESULTS.md with ``title`` and ``body``."""
    header = (
        f"<!-- BEGIN {name} -->\n## {title}\n\n"
        f"*{_dt.date.today().isoformat()} — {machine()} — "
        f"`python benchmarks/{Path(sys.argv[0]).name} {' '.join(sys.argv[1:])}`*\n\n"
    )
    block = header + body.rstrip() + f"\n<!-- END {name} -->\n"
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# hepgen benchmark results\n\n"
    pattern = re.compile(
        rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->\n", re.S
    )
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text + "\n" + block
    RESULTS_MD.write_text(text)


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
