"""Finding the events in a ROOT file: open it, choose the TTree or RNTuple, match the schema.

Every failure raises a one-line :class:`~hepgen.physics.errors.HepgenInputError` naming the file
(and tree) and what was expected: a missing, truncated or non-ROOT file, no or several candidate
trees, or branches the :class:`~hepgen.physics.io.schema.Schema` needs and the tree lacks (with
near-identical branch names suggested and the predefined schemas that match the file named).
:class:`ReadContext` says where a chunk comes from in such messages.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import uproot

from hepgen.physics.errors import HepgenInputError
from hepgen.physics.io.schema import Schema, schemas_matching

#: Tree name picked first when the schema names none.
PREFERRED_TREE: str = "Events"
#: uproot class names the reader accepts as trees.
TREE_CLASSES: frozenset[str] = frozenset({"TTree", "ROOT::RNTuple"})
#: How many available names an error message lists at most.
MAX_LISTED: int = 12


@dataclass(frozen=True)
class ReadContext:
    """Where a chunk comes from, for error messages: ``file: tree 'Events'``."""

    path: Path
    tree: str
    entries: str = "all entries"

    def __str__(self) -> str:
        return f"{self.path}: tree {self.tree!r}"


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f", ... ({len(names)} in all)" if len(names) > MAX_LISTED else "")


# ---------------------------------------------------------------------------------------------
# Opening files and trees
# ---------------------------------------------------------------------------------------------


def open_file(path: Path) -> uproot.ReadOnlyDirectory:
    """Open a local ROOT file, turning every failure into a one-line :class:`HepgenInputError`."""
    if not path.exists():
        raise HepgenInputError(
            f"{path}: no such file (expected a ROOT file with a TTree or RNTuple)"
        )
    if path.is_dir():
        raise HepgenInputError(f"{path}: is a directory (expected a ROOT file)")
    try:
        return uproot.open(path)
    except MemoryError:
        raise
    except Exception as err:  # uproot raises OSError/ValueError/... for non-ROOT or cut files
        raise HepgenInputError(
            f"{path}: not a readable ROOT file ({first_line(err)}); expected a complete ROOT "
            "file — is it truncated, still being written, or another format?"
        ) from err


def _tree_names(file: uproot.ReadOnlyDirectory, path: Path) -> dict[str, str]:
    """Tree name (without cycle) -> class name, for every TTree and RNTuple in the file."""
    try:
        classes = file.classnames()
    except MemoryError:
        raise
    except Exception as err:
        raise HepgenInputError(
            f"{path}: cannot list the file's contents ({first_line(err)}); "
            "truncated or corrupt file?"
        ) from err
    return {key.rsplit(";", 1)[0]: cls for key, cls in classes.items() if cls in TREE_CLASSES}


def choose_tree(file: uproot.ReadOnlyDirectory, path: Path, schema: Schema) -> str:
    """The tree the schema names, or ``Events``, or the only tree in the file."""
    trees = _tree_names(file, path)
    if schema.tree is not None:
        if schema.tree in trees:
            return schema.tree
        other = f"trees in the file: {_listed(sorted(trees))}" if trees else "the file has no tree"
        raise HepgenInputError(
            f"{path}: no TTree or RNTuple {schema.tree!r} (schema {schema.name!r}); {other}"
        )
    if PREFERRED_TREE in trees:
        return PREFERRED_TREE
    if len(trees) == 1:
        return next(iter(trees))
    if not trees:
        raise HepgenInputError(
            f"{path}: no TTree or RNTuple in the file (expected e.g. {PREFERRED_TREE!r})"
        )
    raise HepgenInputError(
        f"{path}: no tree {PREFERRED_TREE!r} and {len(trees)} others ({_listed(sorted(trees))}); "
        "name the tree in the schema"
    )


def get_tree(file: uproot.ReadOnlyDirectory, ctx: ReadContext) -> object:
    try:
        return file[ctx.tree]
    except MemoryError:
        raise
    except Exception as err:
        raise HepgenInputError(
            f"{ctx}: cannot read the tree header ({first_line(err)}); corrupt file?"
        ) from err


# ---------------------------------------------------------------------------------------------
# Matching the schema to the tree
# ---------------------------------------------------------------------------------------------


def resolve_schema(schema: Schema, available: set[str], ctx: ReadContext) -> Schema:
    """Drop an optional collection or weight the file lacks; raise on any other missing branch."""
    missing = schema.missing(available)
    if missing:
        raise HepgenInputError(_missing_message(missing, available, schema, ctx))
    return schema.for_branches(available)


#: Similarity (difflib ratio, case-insensitive) above which a branch is suggested for a missing one.
SUGGEST_CUTOFF: float = 0.85


def _suggestions(missing: list[str], available: set[str]) -> list[str]:
    """``'Muon_eta' -> 'Muon_Eta'?`` for missing names with a near-identical available one."""
    lowered = {name.lower(): name for name in available}
    hints = []
    for name in missing:
        close = difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=SUGGEST_CUTOFF)
        if close:
            hints.append(f"{name!r} -> {lowered[close[0]]!r}?")
    return hints


def _missing_message(
    missing: list[str], available: set[str], schema: Schema, ctx: ReadContext
) -> str:
    noun = "branch" if len(missing) == 1 else "branches"
    hints = _suggestions(missing, available)
    hint = f" (did you mean {', '.join(hints)})" if hints else ""
    matching = schemas_matching(available)
    advice = (
        f"schema {' or '.join(repr(m) for m in matching)} matches this file"
        if matching
        else "use a schema that matches the file (e.g. a JSON mapping)"
    )
    return (
        f"{ctx}: missing {noun} {', '.join(repr(m) for m in missing)} needed by schema "
        f"{schema.name!r}{hint}; the tree has {_listed(sorted(available))}; {advice}"
    )
