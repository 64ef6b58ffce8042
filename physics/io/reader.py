"""Read events from ROOT files (TTree or RNTuple) into the hepgen event record.

Branches are mapped by a :class:`~hepgen.physics.io.schema.Schema`, read chunk by chunk with
uproot (``tree.iterate(step_size=...)``), checked (type, shape, finite values, charges), turned
into the record with :func:`~hepgen.physics.events.build_events` (Cartesian momenta through
scikit-hep ``vector``) and passed through :func:`~hepgen.physics.events.select`. Events outside
the selection are skipped and counted in a :class:`~hepgen.physics.events.SelectionReport`;
anything wrong with the input raises :class:`~hepgen.physics.errors.HepgenInputError` with one
line naming the file, tree and branch and what was expected.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import awkward as ak
import numpy as np
import uproot
import uproot.behaviors.RNTuple
import vector

from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import SelectionReport, build_events, require_events, select
from hepgen.physics.io.schema import (
    DEFAULT_SCHEMA,
    CollectionSchema,
    Schema,
    get_schema,
    schemas_matching,
)

vector.register_awkward()

#: Entries per chunk read at once (about 60 MB of NanoAOD Z+jets branches in memory).
DEFAULT_STEP_SIZE: int = 100_000
#: Tree name picked first when the schema names none.
PREFERRED_TREE: str = "Events"
#: uproot class names the reader accepts as trees.
TREE_CLASSES: frozenset[str] = frozenset({"TTree", "ROOT::RNTuple"})
#: How many available names an error message lists at most.
MAX_LISTED: int = 12

_FLOATS = frozenset({"float16", "float32", "float64"})
_INTEGERS = frozenset({f"{s}int{b}" for s in ("", "u") for b in (8, 16, 32, 64)})
#: Allowed leaf dtypes per field kind: kinematics must be floating point, charges and weights
#: any real number type (never bool or string), posterior-draw indices integers.
_ALLOWED: dict[str, frozenset[str]] = {
    "kinematic": _FLOATS,
    "charge": _FLOATS | _INTEGERS,
    "weight": _FLOATS | _INTEGERS,
    "draw": _INTEGERS,
}
_DESCRIBED: dict[str, str] = {
    "kinematic": "floating-point numbers",
    "charge": "integer or floating-point charges",
    "weight": "numbers",
    "draw": "posterior-draw indices 0..K-1",
}
#: Largest posterior-draw index the reader accepts (the writer stores int32).
MAX_DRAW_INDEX: int = 2**31 - 1
#: Muon charges must be one of these.
ALLOWED_CHARGES: tuple[int, ...] = (-1, 1)


@dataclass(frozen=True)
class _Context:
    """Where a chunk comes from, for error messages: ``file: tree 'Events'``."""

    path: Path
    tree: str
    entries: str = "all entries"

    def __str__(self) -> str:
        return f"{self.path}: tree {self.tree!r}"


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f", ... ({len(names)} in all)" if len(names) > MAX_LISTED else "")


# ---------------------------------------------------------------------------------------------
# Opening files and trees
# ---------------------------------------------------------------------------------------------


def _open_file(path: Path) -> uproot.ReadOnlyDirectory:
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
            f"{path}: not a readable ROOT file ({_first_line(err)}); expected a complete ROOT "
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
            f"{path}: cannot list the file's contents ({_first_line(err)}); "
            "truncated or corrupt file?"
        ) from err
    return {key.rsplit(";", 1)[0]: cls for key, cls in classes.items() if cls in TREE_CLASSES}


def _choose_tree(file: uproot.ReadOnlyDirectory, path: Path, schema: Schema) -> str:
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


def _get_tree(file: uproot.ReadOnlyDirectory, ctx: _Context) -> object:
    try:
        return file[ctx.tree]
    except MemoryError:
        raise
    except Exception as err:
        raise HepgenInputError(
            f"{ctx}: cannot read the tree header ({_first_line(err)}); corrupt file?"
        ) from err


# ---------------------------------------------------------------------------------------------
# Matching the schema to the tree
# ---------------------------------------------------------------------------------------------


def _resolve(schema: Schema, available: set[str], ctx: _Context) -> Schema:
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


def _missing_message(missing: list[str], available: set[str], schema: Schema, ctx: _Context) -> str:
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


# ---------------------------------------------------------------------------------------------
# Checking and converting one chunk
# ---------------------------------------------------------------------------------------------


def _field(chunk: ak.Array, branch: str) -> ak.Array:
    """The array of ``branch`` in a chunk; dotted RNTuple sub-fields (``Muon.pt``) are walked."""
    if branch in chunk.fields:
        return chunk[branch]
    value = chunk
    for part in branch.split("."):
        value = value[part]
    return value


def _leaf(values: ak.Array) -> tuple[int, str]:
    """(list depth per entry, leaf type) of an array; strings count as a leaf type ``string``."""
    kind = values.type.content
    depth = 0
    while isinstance(kind, ak.types.ListType | ak.types.RegularType):
        if kind.parameter("__array__") in ("string", "bytestring"):
            return depth, "string"
        depth += 1
        kind = kind.content
    if isinstance(kind, ak.types.NumpyType):
        return depth, kind.primitive
    return depth, str(kind)


def _checked(values: ak.Array, branch: str, kind: str, jagged: bool, ctx: _Context) -> ak.Array:
    """``values`` after checking shape (jagged or flat), dtype (by ``kind``) and finiteness."""
    depth, leaf = _leaf(values)
    if depth != int(jagged) or leaf not in _ALLOWED[kind]:
        shape = "a jagged array (one value per object)" if jagged else "one value per event"
        types = sorted(_ALLOWED[kind] & _FLOATS) + (
            ["integers"] if _INTEGERS <= _ALLOWED[kind] else []
        )
        raise HepgenInputError(
            f"{ctx}: branch {branch!r} has type {values.type.content}; expected {shape} of "
            f"{_DESCRIBED[kind]} ({', '.join(types)})"
        )
    if jagged:
        values = ak.from_regular(values, axis=1)
    if leaf in _FLOATS:
        _check_finite(values, f"branch {branch!r}", ctx)
    return values


def _check_finite(values: ak.Array, label: str, ctx: _Context) -> None:
    """Raise when any value is NaN or infinite, with the count: bad values are never dropped."""
    flat = ak.to_numpy(ak.flatten(values, axis=None))
    n_bad = int(np.count_nonzero(~np.isfinite(flat)))
    if n_bad:
        n_nan = int(np.count_nonzero(np.isnan(flat)))
        raise HepgenInputError(
            f"{ctx}: {label}: {n_bad} non-finite values ({n_nan} NaN, {n_bad - n_nan} inf) in "
            f"{ctx.entries}; expected finite numbers — fix or filter the file, "
            "hepgen does not drop them silently"
        )


def _check_charges(values: ak.Array, branch: str, ctx: _Context) -> None:
    flat = ak.to_numpy(ak.flatten(values, axis=None))
    n_bad = int(np.count_nonzero(~np.isin(flat, ALLOWED_CHARGES)))
    if n_bad:
        raise HepgenInputError(
            f"{ctx}: branch {branch!r}: {n_bad} muon charges not in {{-1, +1}}; expected a charge "
            "branch (is the schema mapping the right branch?)"
        )


def _draw_indices(chunk: ak.Array, branch: str, ctx: _Context) -> np.ndarray:
    """The posterior-draw indices (N,) of a chunk: integers in [0, MAX_DRAW_INDEX]."""
    draw = ak.to_numpy(_checked(_field(chunk, branch), branch, "draw", False, ctx))
    n_bad = int(np.count_nonzero((draw < 0) | (draw > MAX_DRAW_INDEX)))
    if n_bad:
        raise HepgenInputError(
            f"{ctx}: branch {branch!r}: {n_bad} values outside 0..{MAX_DRAW_INDEX} "
            f"(smallest {draw.min()}) in {ctx.entries}; expected posterior-draw indices 0..K-1 "
            "(is the schema mapping the right branch?)"
        )
    return draw


def _field_kind(name: str) -> str:
    return "charge" if name == "charge" else "kinematic"


def _jagged_fields(
    chunk: ak.Array, mapping: Mapping[str, str], ctx: _Context
) -> dict[str, ak.Array]:
    """Read a jagged collection: field -> (N, var) array, with equal object counts everywhere."""
    values = {
        name: _checked(_field(chunk, branch), branch, _field_kind(name), True, ctx)
        for name, branch in mapping.items()
    }
    names = list(mapping)
    counts = ak.to_numpy(ak.num(values[names[0]], axis=1))
    for name in names[1:]:
        n_diff = int(np.count_nonzero(ak.to_numpy(ak.num(values[name], axis=1)) != counts))
        if n_diff:
            raise HepgenInputError(
                f"{ctx}: branches {mapping[names[0]]!r} and {mapping[name]!r} have different "
                f"object counts in {n_diff} events; expected branches of the same collection"
            )
    return values


def _flat_fields(
    chunk: ak.Array, objects: tuple[Mapping[str, str], ...], ctx: _Context
) -> dict[str, ak.Array]:
    """Read per-object flat branches: field -> (N, len(objects)) array made jagged."""
    columns: dict[str, list[np.ndarray]] = {name: [] for name in objects[0]}
    for obj in objects:
        for name, branch in obj.items():
            values = _checked(_field(chunk, branch), branch, _field_kind(name), False, ctx)
            columns[name].append(ak.to_numpy(values))
    return {
        name: ak.from_regular(ak.Array(np.stack(cols, axis=1)), axis=1)
        for name, cols in columns.items()
    }


def _from_cartesian(
    values: dict[str, ak.Array], branches: str, ctx: _Context
) -> dict[str, ak.Array]:
    """(px, py, pz, E) -> (pt, eta, phi, mass) through ``vector``; other fields pass through."""
    p4 = vector.zip({name: values[name] for name in ("px", "py", "pz", "E")})
    out = {
        name: ak.Array(getattr(p4, name), behavior=None) for name in ("pt", "eta", "phi", "mass")
    }
    for name, converted in out.items():
        _check_finite(converted, f"{name} computed from ({branches})", ctx)
    out.update({k: v for k, v in values.items() if k not in ("px", "py", "pz", "E")})
    return out


def _collection(chunk: ak.Array, coll: CollectionSchema, ctx: _Context) -> dict[str, ak.Array]:
    """The record fields of one collection (pt, eta, phi, [mass], [charge]) from a chunk."""
    if coll.jagged is not None:
        values = _jagged_fields(chunk, coll.jagged, ctx)
    else:
        values = _flat_fields(chunk, coll.objects or (), ctx)
    if "charge" in values:
        branch = (
            coll.jagged["charge"]
            if coll.jagged is not None
            else "/".join(obj["charge"] for obj in coll.objects or ())
        )
        _check_charges(values["charge"], branch, ctx)
    if coll.kinematics == "cartesian":
        values = _from_cartesian(values, ", ".join(coll.branches()), ctx)
    return values


def _chunk_to_events(chunk: ak.Array, schema: Schema, ctx: _Context) -> ak.Array:
    """Build the event record (before selection) from one chunk of branches."""
    fields = {name: _collection(chunk, coll, ctx) for name, coll in schema.collections().items()}
    weight = None
    if schema.weight is not None:
        weight = ak.to_numpy(
            _checked(_field(chunk, schema.weight), schema.weight, "weight", False, ctx)
        )
    draw = None if schema.draw is None else _draw_indices(chunk, schema.draw, ctx)
    return build_events(fields["Muon"], fields.get("Jet"), weight, draw)


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def _check_options(step_size: int | str, max_events: int | None) -> None:
    if isinstance(step_size, bool) or (isinstance(step_size, int) and step_size < 1):
        raise HepgenInputError(
            "step_size must be a positive number of entries or a size like '100 MB', "
            f"got {step_size!r}"
        )
    if max_events is not None and (isinstance(max_events, bool) or max_events < 1):
        raise HepgenInputError(
            f"max_events must be a positive number of entries or None, got {max_events!r}"
        )


def _rntuple_chunks(
    ntuple: uproot.behaviors.RNTuple.RNTuple,
    branches: list[str],
    step_size: int | str,
    entry_stop: int,
) -> Iterator[ak.Array]:
    """RNTuple entries read one cluster at a time, then cut into ``step_size`` slices.

    uproot's ``RNTuple.iterate`` decompresses a whole cluster for every step, which is quadratic
    in the cluster size (files written by ``file[name] = {...}`` are a single cluster): reading
    each cluster once costs one cluster of memory instead. A memory ``step_size`` (str) yields
    whole clusters.
    """
    for cluster in ntuple.cluster_summaries:
        start = int(cluster.num_first_entry)
        stop = min(start + int(cluster.num_entries), entry_stop)
        if start >= stop:
            continue
        arrays = ntuple.arrays(filter_name=branches, entry_start=start, entry_stop=stop)
        step = step_size if isinstance(step_size, int) else len(arrays)
        for first in range(0, len(arrays), step):
            # packed: later whole-buffer operations then touch only this slice's values
            yield ak.to_packed(arrays[first : first + step])


def _entry_chunks(
    tree: object, branches: list[str], step_size: int | str, entry_stop: int
) -> Iterator[ak.Array]:
    """Chunks of at most ``step_size`` entries of ``branches`` (TTree or RNTuple)."""
    if isinstance(tree, uproot.behaviors.RNTuple.RNTuple):
        return _rntuple_chunks(tree, branches, step_size, entry_stop)
    return tree.iterate(  # type: ignore[attr-defined,no-any-return]
        filter_name=branches, step_size=step_size, entry_stop=entry_stop, library="ak"
    )


def _raw_chunks(
    tree: object, branches: tuple[str, ...], step_size: int | str, entry_stop: int, ctx: _Context
) -> Iterator[ak.Array]:
    """uproot chunks of ``branches``; read failures (e.g. a truncated file) become input errors."""
    iterator = _entry_chunks(tree, list(branches), step_size, entry_stop)
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        except MemoryError:
            raise
        except Exception as err:  # uproot: OSError, ValueError, decompression errors, ...
            raise HepgenInputError(
                f"{ctx}: cannot read entries ({_first_line(err)}); truncated or corrupt file?"
            ) from err
        yield chunk


def iterate_events(
    path: str | os.PathLike[str],
    schema: Schema | str | os.PathLike[str] = DEFAULT_SCHEMA,
    *,
    require_jets: bool = True,
    step_size: int | str = DEFAULT_STEP_SIZE,
    max_events: int | None = None,
    weight: str | None = None,
    report: SelectionReport | None = None,
) -> Iterator[ak.Array]:
    """Yield selected event chunks of a ROOT file (TTree or RNTuple), read ``step_size`` at a time.

    Args:
        path: local ROOT file.
        schema: a :class:`Schema`, a predefined name (``nanoaod``, ``cms-dimuon``, ...) or a JSON
            schema file (see :meth:`Schema.from_dict`).
        require_jets: apply the 1–3 jet selection when the record has jets.
        step_size: entries per chunk (int), or an uproot memory size such as ``"100 MB"``.
        max_events: read at most this many entries (before selection); None reads all.
        weight: per-event weight branch overriding the schema's (required), e.g. ``"genWeight"``.
        report: if given, each chunk's counts (read, kept, skipped by reason) are added to it.

    Yields:
        non-empty event records (see :mod:`hepgen.physics.events`), each of at most
        ``step_size`` events, with a ``draw`` field when the schema names a draw branch and the
        file has it (posterior-draw index, int32); chunks can go straight into
        :func:`~hepgen.physics.io.writer.write_events`.

    Raises:
        HepgenInputError: bad file, tree, branch, type or value (one line naming them).
        HepgenNoEventsError: no event is left after the selection.
    """
    _check_options(step_size, max_events)
    resolved = get_schema(schema)
    if weight is not None:
        resolved = replace(resolved, weight=weight, weight_required=True)
    path = Path(path)
    total = SelectionReport()
    with _open_file(path) as file:
        ctx = _Context(path, _choose_tree(file, path, resolved))
        tree = _get_tree(file, ctx)
        n_entries = int(tree.num_entries)  # type: ignore[attr-defined]
        if n_entries == 0:
            raise HepgenInputError(f"{ctx}: the tree has no entries; expected at least one event")
        resolved = _resolve(resolved, set(tree.keys()), ctx)  # type: ignore[attr-defined]
        entry_stop = n_entries if max_events is None else min(max_events, n_entries)
        start = 0
        last = None
        for chunk in _raw_chunks(tree, resolved.branches(), step_size, entry_stop, ctx):
            chunk_ctx = replace(ctx, entries=f"entries {start}-{start + len(chunk) - 1}")
            start += len(chunk)
            events, chunk_report = select(
                _chunk_to_events(chunk, resolved, chunk_ctx), require_jets=require_jets
            )
            total.add(chunk_report)
            if report is not None:
                report.add(chunk_report)
            last = events
            if len(events):
                yield events
    if total.n_kept == 0 and last is not None:
        require_events(last, f"{ctx}", total)


def read_events(
    path: str | os.PathLike[str],
    schema: Schema | str | os.PathLike[str] = DEFAULT_SCHEMA,
    *,
    require_jets: bool = True,
    step_size: int | str = DEFAULT_STEP_SIZE,
    max_events: int | None = None,
    weight: str | None = None,
) -> tuple[ak.Array, SelectionReport]:
    """Read and select all events of a ROOT file (arguments as :func:`iterate_events`).

    Returns:
        (events, report): the selected event record of length ``report.n_kept`` and the counts
        of events read, kept and skipped per reason.
    """
    report = SelectionReport()
    chunks = list(
        iterate_events(
            path,
            schema,
            require_jets=require_jets,
            step_size=step_size,
            max_events=max_events,
            weight=weight,
            report=report,
        )
    )
    events = chunks[0] if len(chunks) == 1 else ak.concatenate(chunks)
    return events, report


__all__ = ["DEFAULT_STEP_SIZE", "iterate_events", "read_events"]
