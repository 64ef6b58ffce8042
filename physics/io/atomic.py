"""Atomic file writes: write under a temporary name in the target directory, rename when complete.

A crash or an error mid-way leaves the previous file (or none), never a half-written one. Used
for every non-ROOT file hepgen writes (JSON states, model weights, checkpoints, reports); ROOT
files go through :func:`hepgen.physics.io.writer.write_events`, which uproot writes by path.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

#: Permissions of written files (mkstemp creates 0600; model files and reports are shared).
FILE_MODE = 0o644


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[IO[Any]], object], *, binary: bool = False
) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it to ``path``.

    The temporary file is removed if ``write`` raises. Returns ``path``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
            write(f)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text))
