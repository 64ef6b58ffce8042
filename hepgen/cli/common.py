"""Helpers shared by the subcommands: progress bars and argument types."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from tqdm.auto import tqdm


def progress(args: argparse.Namespace, **kwargs: Any) -> tqdm:
    """A tqdm progress bar on stderr, disabled with ``--quiet`` or when stderr is not a terminal
    and ``HEPGEN_PROGRESS`` is unset (CI logs stay readable)."""
    import os

    enabled = not getattr(args, "quiet", False) and (
        sys.stderr.isatty() or os.environ.get("HEPGEN_PROGRESS") == "1"
    )
    return tqdm(disable=not enabled, file=sys.stderr, dynamic_ncols=True, **kwargs)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(float(text)) if "e" in text.lower() else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


log = logging.getLogger("hepgen")
