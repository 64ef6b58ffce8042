"""Schemas: how the trees and branches of a ROOT file map onto the hepgen event record.

A :class:`Schema` names the tree (or lets the reader pick ``Events``, else the only tree in the
file), one :class:`CollectionSchema` per collection (``muon``, optional ``jet``), an optional
per-event weight branch and an optional per-event posterior-draw index branch (``draw``: integer
0..K-1, written by ``hepgen generate --posterior-draws K``; read when present, never required).
A collection is stored either

- *jagged*: one branch per field holding a variable-length list per event (NanoAOD
  ``Muon_pt``: ``var * float32``), or
- *flat*: one branch per field *and object* holding one number per event (the CMS dimuon file's
  ``pt1, eta1, ..., pt2, eta2, ...``), listed object by object;

with kinematics either ``"ptetaphi"`` (pt, eta, phi [, mass]; GeV, rad) or ``"cartesian"``
(px, py, pz, E; GeV — the reader converts them with scikit-hep ``vector``).

Schemas come by name (:data:`SCHEMAS`: ``nanoaod``, ``nanoaod-genweight``, ``cms-dimuon``,
``cms-dimuon-cartesian``), from a JSON file (:func:`load_schema`; format in
:meth:`Schema.from_dict`) or are built in Python. This module only describes mappings; the
reader (:mod:`hepgen.physics.io.reader`) applies them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hepgen.physics.errors import HepgenInputError

#: Kinematic conventions and the fields each needs (pt/mass/px/py/pz/E in GeV, phi in rad).
KINEMATIC_FIELDS: dict[str, tuple[str, ...]] = {
    "ptetaphi": ("pt", "eta", "phi"),
    "cartesian": ("px", "py", "pz", "E"),
}

#: Extra fields per collection: required, and allowed on top of the kinematic ones.
#: Muons without a ``mass`` branch get the PDG muon mass; jets in pt/eta/phi need ``mass``.
REQUIRED_EXTRA: dict[str, dict[str, tuple[str, ...]]] = {
    "muon": {"ptetaphi": ("charge",), "cartesian": ("charge",)},
    "jet": {"ptetaphi": ("mass",), "cartesian": ()},
}
OPTIONAL_EXTRA: dict[str, dict[str, tuple[str, ...]]] = {
    "muon": {"ptetaphi": ("mass",), "cartesian": ()},
    "jet": {"ptetaphi": (), "cartesian": ()},
}

#: Top-level keys of a JSON schema and of a JSON collection.
_SCHEMA_KEYS = frozenset({"name", "tree", "weight", "weight_required", "draw", "muon", "jet"})
_COLLECTION_KEYS = frozenset({"kinematics", "jagged", "objects", "prefix", "optional"})


def _fail(source: str, message: str) -> HepgenInputError:
    return HepgenInputError(f"schema {source}: {message}")


@dataclass(frozen=True)
class CollectionSchema:
    """Where one collection's fields live in the file.

    Exactly one of ``jagged`` and ``objects`` is given.

    Attributes:
        kinematics: ``"ptetaphi"`` or ``"cartesian"`` (see :data:`KINEMATIC_FIELDS`).
        jagged: record field -> branch holding a jagged (N, var) array, e.g.
            ``{"pt": "Muon_pt", "charge": "Muon_charge", ...}``.
        objects: one mapping per object, record field -> flat (N,) branch, e.g.
            ``({"pt": "pt1", ...}, {"pt": "pt2", ...})``; every event then has len(objects) objects.
        optional: when *none* of the collection's branches is in the file, read the record
            without this collection (a dimuon-only file); a partly present collection is still an
            error. Only jets may be optional.
    """

    kinematics: str = "ptetaphi"
    jagged: Mapping[str, str] | None = None
    objects: tuple[Mapping[str, str], ...] | None = None
    optional: bool = False

    @classmethod
    def from_prefix(
        cls,
        prefix: str,
        fields: Sequence[str],
        kinematics: str = "ptetaphi",
        optional: bool = False,
    ) -> CollectionSchema:
        """Jagged NanoAOD-style branches ``<prefix>_<field>``, e.g. ``Muon_pt``."""
        return cls(kinematics, {name: f"{prefix}_{name}" for name in fields}, None, optional)

    @property
    def fields(self) -> tuple[str, ...]:
        """Record fields this collection maps (pt, eta, ... or px, py, ...)."""
        mapping = self.jagged if self.jagged is not None else (self.objects or ({},))[0]
        return tuple(mapping)

    def branches(self) -> tuple[str, ...]:
        """All branch names the collection reads, in mapping order."""
        if self.jagged is not None:
            return tuple(self.jagged.values())
        return tuple(branch for obj in self.objects or () for branch in obj.values())

    def check(self, role: str, source: str) -> None:
        """Raise :class:`HepgenInputError` unless this is a valid ``role`` (muon/jet) mapping."""
        where = f"{source} {role}"
        if self.kinematics not in KINEMATIC_FIELDS:
            raise _fail(
                where, f"kinematics {self.kinematics!r}; expected one of {sorted(KINEMATIC_FIELDS)}"
            )
        if (self.jagged is None) == (self.objects is None):
            raise _fail(
                where,
                "give exactly one of 'jagged' (field -> branch) or 'objects' (a list of them)",
            )
        if self.objects is not None and not self.objects:
            raise _fail(where, "'objects' is empty; expected one mapping per object")
        if self.optional and role != "jet":
            raise _fail(where, "only the jet collection may be optional")
        required = KINEMATIC_FIELDS[self.kinematics] + REQUIRED_EXTRA[role][self.kinematics]
        allowed = set(required) | set(OPTIONAL_EXTRA[role][self.kinematics])
        mappings = [self.jagged] if self.jagged is not None else list(self.objects or ())
        for index, mapping in enumerate(mappings):
            label = where if self.jagged is not None else f"{where} object {index + 1}"
            _check_mapping(mapping, required, allowed, label, self.kinematics)
        if len({tuple(sorted(m)) for m in mappings}) > 1:
            raise _fail(where, "every object must map the same fields")


def _check_mapping(
    mapping: Mapping[str, str],
    required: Sequence[str],
    allowed: set[str],
    where: str,
    kinematics: str,
) -> None:
    missing = [name for name in required if name not in mapping]
    unknown = sorted(set(mapping) - allowed)
    if missing:
        raise _fail(
            where, f"no branch for {', '.join(missing)} ({kinematics} needs {', '.join(required)})"
        )
    if unknown:
        raise _fail(
            where, f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    bad = [name for name, branch in mapping.items() if not isinstance(branch, str) or not branch]
    if bad:
        raise _fail(where, f"branch name of {', '.join(bad)} must be a non-empty string")


@dataclass(frozen=True)
class Schema:
    """How a file maps onto the hepgen event record.

    Attributes:
        muon: the muon collection (charge required).
        jet: the jet collection, or None for dimuon-only records (no ``Jet`` field).
        tree: TTree/RNTuple name, or None to pick ``Events``, else the only tree in the file.
        weight: per-event weight branch (flat, numeric), or None for unit weights.
        weight_required: if False, a missing ``weight`` branch means unit weights, not an error.
        name: shown in error messages.
        draw: per-event posterior-draw index branch (flat, integer, >= 0), read into the record's
            ``draw`` field when the file has it; optional (a file without it reads as before).
    """

    muon: CollectionSchema
    jet: CollectionSchema | None = None
    tree: str | None = None
    weight: str | None = None
    weight_required: bool = True
    name: str = "custom"
    draw: str | None = None

    def __post_init__(self) -> None:
        self.muon.check("muon", repr(self.name))
        if self.jet is not None:
            self.jet.check("jet", repr(self.name))
        if self.draw is not None and (not isinstance(self.draw, str) or not self.draw):
            raise _fail(repr(self.name), f"'draw' must be a branch name or null, got {self.draw!r}")
        if self.draw is not None and self.draw == self.weight:
            raise _fail(repr(self.name), f"'draw' and 'weight' name the same branch {self.draw!r}")

    def collections(self) -> dict[str, CollectionSchema]:
        """Record name (``Muon``, ``Jet``) -> collection schema, for the collections present."""
        found = {"Muon": self.muon}
        if self.jet is not None:
            found["Jet"] = self.jet
        return found

    def branches(self) -> tuple[str, ...]:
        """Every branch the schema reads (weight and draw included), without duplicates."""
        names = [b for coll in self.collections().values() for b in coll.branches()]
        names += [b for b in (self.weight, self.draw) if b is not None]
        return tuple(dict.fromkeys(names))

    def for_branches(self, available: Collection[str]) -> Schema:
        """This schema without the parts a file may lack: an optional collection none of whose
        branches is in ``available``, a weight branch that is not required, and a draw branch
        (always optional)."""
        jet = self.jet
        if jet is not None and jet.optional and not any(b in available for b in jet.branches()):
            jet = None
        weight = self.weight
        if weight is not None and not self.weight_required and weight not in available:
            weight = None
        draw = self.draw if self.draw in available else None
        return replace(self, jet=jet, weight=weight, draw=draw)

    def missing(self, available: Collection[str]) -> list[str]:
        """Branches the schema reads that are not in ``available`` (after :meth:`for_branches`)."""
        return [name for name in self.for_branches(available).branches() if name not in available]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> Schema:
        """Build a schema from a JSON-like mapping.

        Format (every key but ``muon`` optional)::

            {"name": "my-file", "tree": "Events", "weight": "genWeight", "weight_required": true,
             "draw": "draw",
             "muon": {"kinematics": "ptetaphi", "prefix": "Muon"},
             "jet":  {"kinematics": "cartesian",
                      "jagged": {"px": "Jet_px", "py": "Jet_py", "pz": "Jet_pz", "E": "Jet_E"}}}

        A collection gives ``prefix`` (jagged ``<prefix>_<field>`` branches for the fields its
        kinematics needs), ``jagged`` (field -> branch) or ``objects`` (a list of field -> flat
        branch mappings, one per object); ``kinematics`` defaults to ``ptetaphi``. A missing or
        null ``jet`` gives dimuon-only records. ``tree`` null/missing: auto-detect. ``draw`` (the
        posterior-draw index branch) is read only when the file has it.
        """
        if not isinstance(data, Mapping):
            raise _fail(source, f"expected a JSON object, found {type(data).__name__}")
        unknown = sorted(set(data) - _SCHEMA_KEYS)
        if unknown:
            raise _fail(
                source,
                f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_SCHEMA_KEYS))}",
            )
        if data.get("muon") is None:
            raise _fail(
                source, 'no \'muon\' collection; expected e.g. {"muon": {"prefix": "Muon"}}'
            )
        jet = data.get("jet")
        return cls(
            muon=_collection_from_dict(data["muon"], "muon", source),
            jet=None if jet is None else _collection_from_dict(jet, "jet", source),
            tree=data.get("tree"),
            weight=data.get("weight"),
            weight_required=bool(data.get("weight_required", True)),
            name=str(data.get("name", source)),
            draw=data.get("draw"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-like mapping that :meth:`from_dict` reads back into an equal schema."""
        return {
            "name": self.name,
            "tree": self.tree,
            "weight": self.weight,
            "weight_required": self.weight_required,
            "draw": self.draw,
            "muon": _collection_to_dict(self.muon),
            "jet": None if self.jet is None else _collection_to_dict(self.jet),
        }


def _collection_from_dict(data: Any, role: str, source: str) -> CollectionSchema:
    where = f"{source} {role}"
    if not isinstance(data, Mapping):
        raise _fail(where, f"expected a JSON object, found {type(data).__name__}")
    unknown = sorted(set(data) - _COLLECTION_KEYS)
    if unknown:
        raise _fail(
            where,
            f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_COLLECTION_KEYS))}",
        )
    kinematics = data.get("kinematics", "ptetaphi")
    optional = bool(data.get("optional", False))
    given = [key for key in ("prefix", "jagged", "objects") if key in data]
    if len(given) != 1:
        raise _fail(where, "give exactly one of 'prefix', 'jagged' or 'objects'")
    if "prefix" in data:
        names = KINEMATIC_FIELDS.get(kinematics, ()) + REQUIRED_EXTRA[role].get(kinematics, ())
        return CollectionSchema.from_prefix(str(data["prefix"]), names, kinematics, optional)
    if "jagged" in data:
        return CollectionSchema(
            kinematics, dict(_as_mapping(data["jagged"], where)), None, optional
        )
    objects = data["objects"]
    if not isinstance(objects, list):
        raise _fail(where, "'objects' must be a list of field -> branch mappings")
    return CollectionSchema(
        kinematics, None, tuple(dict(_as_mapping(o, where)) for o in objects), optional
    )


def _as_mapping(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"expected a field -> branch mapping, found {type(value).__name__}")
    return value


def _collection_to_dict(coll: CollectionSchema) -> dict[str, Any]:
    out: dict[str, Any] = {"kinematics": coll.kinematics, "optional": coll.optional}
    if coll.jagged is not None:
        out["jagged"] = dict(coll.jagged)
    else:
        out["objects"] = [dict(obj) for obj in coll.objects or ()]
    return out


def load_schema(path: str | os.PathLike[str]) -> Schema:
    """Read a schema from a JSON file (format: :meth:`Schema.from_dict`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise HepgenInputError(f"schema file {path}: no such file") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise HepgenInputError(f"schema file {path}: not readable JSON ({err})") from err
    return Schema.from_dict(data, source=str(path))


def _cms_dimuon_objects(kinematics: str) -> tuple[dict[str, str], ...]:
    """Flat branches of the CMS dimuon file: ``pt1, eta1, phi1, Q1`` / ``px1, py1, pz1, E1``, ..."""
    names = KINEMATIC_FIELDS[kinematics]
    return tuple({name: f"{name}{i}" for name in names} | {"charge": f"Q{i}"} for i in (1, 2))


_NANOAOD_MUON = CollectionSchema.from_prefix("Muon", ("pt", "eta", "phi", "charge"))
#: Jets are optional in NanoAOD files: a file without any ``Jet_*`` branch is dimuon-only.
_NANOAOD_JET = CollectionSchema.from_prefix("Jet", ("pt", "eta", "phi", "mass"), optional=True)

#: Predefined schemas by name.
SCHEMAS: dict[str, Schema] = {
    # hepgen's own files and NanoAOD: tree Events (else the only tree), optional `weight` and
    # optional posterior-draw index `draw` (generated files of Bayesian generators).
    "nanoaod": Schema(_NANOAOD_MUON, _NANOAOD_JET, None, "weight", False, "nanoaod", "draw"),
    # NanoAOD with the generator weight `genWeight` (required).
    "nanoaod-genweight": Schema(
        _NANOAOD_MUON, _NANOAOD_JET, None, "genWeight", True, "nanoaod-genweight", "draw"
    ),
    # CMS 2010 open-data dimuon file (skhep_testdata `uproot-Zmumu.root`): tree `events`.
    "cms-dimuon": Schema(
        CollectionSchema("ptetaphi", None, _cms_dimuon_objects("ptetaphi")),
        None,
        "events",
        None,
        True,
        "cms-dimuon",
    ),
    "cms-dimuon-cartesian": Schema(
        CollectionSchema("cartesian", None, _cms_dimuon_objects("cartesian")),
        None,
        "events",
        None,
        True,
        "cms-dimuon-cartesian",
    ),
}

#: The schema used when none is given.
DEFAULT_SCHEMA: str = "nanoaod"


def schemas_matching(available: Collection[str]) -> list[str]:
    """Names of the predefined schemas that find every branch they need in ``available``."""
    return [name for name, schema in SCHEMAS.items() if not schema.missing(available)]


def get_schema(spec: Schema | str | os.PathLike[str] = DEFAULT_SCHEMA) -> Schema:
    """Resolve a schema: a :class:`Schema`, a name in :data:`SCHEMAS`, or a path to a JSON file."""
    if isinstance(spec, Schema):
        return spec
    if isinstance(spec, str) and spec in SCHEMAS:
        return SCHEMAS[spec]
    if isinstance(spec, os.PathLike) or str(spec).endswith(".json") or Path(str(spec)).is_file():
        return load_schema(spec)
    raise HepgenInputError(
        f"unknown schema {spec!r}; expected one of {', '.join(SCHEMAS)} or a JSON file path"
    )


__all__ = [
    "DEFAULT_SCHEMA",
    "KINEMATIC_FIELDS",
    "SCHEMAS",
    "CollectionSchema",
    "Schema",
    "get_schema",
    "load_schema",
    "schemas_matching",
]
