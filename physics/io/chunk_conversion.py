"""Checking one chunk of branches and turning it into the hepgen event record.

Each branch read by :mod:`hepgen.physics.io.reader` is checked (list depth, leaf type, finite
values; muon charges in {-1, +1}; posterior-draw indices in 0..:data:`MAX_DRAW_INDEX`), the
collections of the :class:`~hepgen.physics.io.schema.Schema` are assembled from jagged or
per-object flat branches, Cartesian momenta are converted to (pt, eta, phi, mass) through
scikit-hep ``vector``, and :func:`~hepgen.physics.events.build_events` builds the record (before
selection). Bad values are never dropped: they raise
:class:`~hepgen.physics.errors.HepgenInputError` with their count, naming file, tree and branch.
"""

from __future__ import annotations

from collections.abc import Mapping

import awkward as ak
import numpy as np
import vector

from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import build_events
from hepgen.physics.io.schema import CollectionSchema, Schema
from hepgen.physics.io.tree_lookup import ReadContext

vector.register_awkward()

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


def _checked(values: ak.Array, branch: str, kind: str, jagged: bool, ctx: ReadContext) -> ak.Array:
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


def _check_finite(values: ak.Array, label: str, ctx: ReadContext) -> None:
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


def _check_charges(values: ak.Array, branch: str, ctx: ReadContext) -> None:
    flat = ak.to_numpy(ak.flatten(values, axis=None))
    n_bad = int(np.count_nonzero(~np.isin(flat, ALLOWED_CHARGES)))
    if n_bad:
        raise HepgenInputError(
            f"{ctx}: branch {branch!r}: {n_bad} muon charges not in {{-1, +1}}; expected a charge "
            "branch (is the schema mapping the right branch?)"
        )


def _draw_indices(chunk: ak.Array, branch: str, ctx: ReadContext) -> np.ndarray:
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
    chunk: ak.Array, mapping: Mapping[str, str], ctx: ReadContext
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
    chunk: ak.Array, objects: tuple[Mapping[str, str], ...], ctx: ReadContext
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
    values: dict[str, ak.Array], branches: str, ctx: ReadContext
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


def _collection(chunk: ak.Array, coll: CollectionSchema, ctx: ReadContext) -> dict[str, ak.Array]:
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


def chunk_to_events(chunk: ak.Array, schema: Schema, ctx: ReadContext) -> ak.Array:
    """Build the event record (before selection) from one chunk of branches."""
    fields = {name: _collection(chunk, coll, ctx) for name, coll in schema.collections().items()}
    weight = None
    if schema.weight is not None:
        weight = ak.to_numpy(
            _checked(_field(chunk, schema.weight), schema.weight, "weight", False, ctx)
        )
    draw = None if schema.draw is None else _draw_indices(chunk, schema.draw, ctx)
    return build_events(fields["Muon"], fields.get("Jet"), weight, draw)
