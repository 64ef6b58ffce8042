"""Tests of ROOT I/O (hepgen.physics.io): schemas, TTrees/RNTuples, round trips, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
import vector

from hepgen.physics.constants import MUON_MASS
from hepgen.physics.errors import HepgenInputError, HepgenNoEventsError
from hepgen.physics.events import SelectionReport, has_jets
from hepgen.physics.io import (
    SCHEMAS,
    CollectionSchema,
    Schema,
    get_schema,
    iterate_events,
    load_schema,
    read_events,
    schemas_matching,
    write_events,
)

vector.register_awkward()

CMS_FILE = "uproot-Zmumu.root"
DY_FILE = "uproot-small-dy-withoffsets.root"
#: Facts about the CMS file: entries and same-sign (skipped) events.
CMS_ENTRIES = 2304
CMS_SAME_SIGN = 157
#: float32 storage: relative precision of values read back.
FLOAT32_RTOL = 1e-6
N_TOY = 300

MUON_FIELDS = ("pt", "eta", "phi", "charge")
JET_FIELDS = ("pt", "eta", "phi", "mass")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def nanoaod_branches(events: ak.Array, dtype: str = "float32") -> dict[str, object]:
    """Flat-named NanoAOD branches (``Muon_pt``: (N, var), ``weight``: (N,)) of an event record."""
    out: dict[str, object] = {
        f"Muon_{f}": ak.values_astype(events.Muon[f], "int32" if f == "charge" else dtype)
        for f in MUON_FIELDS
    }
    if has_jets(events):
        out |= {f"Jet_{f}": ak.values_astype(events.Jet[f], dtype) for f in JET_FIELDS}
    if "weight" in ak.fields(events):
        out["weight"] = ak.to_numpy(events.weight).astype(dtype)
    if "draw" in ak.fields(events):
        out["draw"] = ak.to_numpy(events.draw).astype(np.int32)
    return out


def with_draws(events: ak.Array, n_draws: int) -> ak.Array:
    """``events`` with a ``draw`` field: n_draws equal consecutive blocks 0, 1, ..., K-1."""
    draw = np.repeat(np.arange(n_draws, dtype=np.int32), -(-len(events) // n_draws))
    return ak.with_field(events, draw[: len(events)], "draw")


def write_ttree(path: Path, branches: dict[str, object], tree: str = "Events") -> Path:
    """Write ``branches`` as a TTree with mktree + extend (jagged ones get ``n<name>`` counters)."""
    types = {
        k: v.type if isinstance(v, ak.Array) else np.asarray(v).dtype for k, v in branches.items()
    }
    with uproot.recreate(path) as file:
        file.mktree(tree, types)
        if len(next(iter(branches.values()))):
            file[tree].extend(branches)
    return path


def write_rntuple(path: Path, branches: dict[str, object], tree: str = "Events") -> Path:
    """Write ``branches`` as an RNTuple (uproot >= 5.7 writes one for ``file[name] = {...}``)."""
    with uproot.recreate(path) as file:
        file[tree] = branches
    return path


def assert_same_events(got: ak.Array, expected: ak.Array, rtol: float = FLOAT32_RTOL) -> None:
    """Same collections, fields and (within rtol) values; muon charges exactly equal."""
    assert set(ak.fields(got)) == set(ak.fields(expected))
    assert len(got) == len(expected)
    for name, fields in (("Muon", MUON_FIELDS + ("mass",)), ("Jet", JET_FIELDS)):
        if name not in ak.fields(expected):
            continue
        for f in fields:
            a, b = got[name][f], expected[name][f]
            assert ak.all(ak.num(a, axis=1) == ak.num(b, axis=1)), f"{name}.{f} counts"
            np.testing.assert_allclose(
                ak.to_numpy(ak.flatten(a)),
                ak.to_numpy(ak.flatten(b)),
                rtol=rtol,
                err_msg=f"{name}.{f}",
            )
    if "weight" in ak.fields(expected):
        np.testing.assert_allclose(ak.to_numpy(got.weight), ak.to_numpy(expected.weight), rtol=rtol)
    if "draw" in ak.fields(expected):
        np.testing.assert_array_equal(ak.to_numpy(got.draw), ak.to_numpy(expected.draw))


def as_float32(events: ak.Array) -> ak.Array:
    """The record as stored: kinematics and weights rounded to float32."""

    def cast(coll: ak.Array) -> ak.Array:
        return ak.zip(
            {
                f: ak.values_astype(coll[f], "float32") if f != "charge" else coll[f]
                for f in coll.fields
            },
            with_name="Momentum4D",
        )

    out = {name: cast(events[name]) for name in ("Muon", "Jet") if name in ak.fields(events)}
    if "weight" in ak.fields(events):
        out["weight"] = ak.values_astype(events.weight, "float32")
    if "draw" in ak.fields(events):
        out["draw"] = events.draw
    return ak.zip(out, depth_limit=1)


@pytest.fixture
def toy_file(tmp_path: Path, make_events) -> tuple[Path, ak.Array]:
    """A hepgen NanoAOD file of N_TOY events with jets and weights, written in 3 chunks."""
    events = make_events(N_TOY, seed=1, with_weights=True)
    path = tmp_path / "toy.root"
    third = N_TOY // 3
    write_events(path, [events[:third], events[third : 2 * third], events[2 * third :]])
    return path, events


# ---------------------------------------------------------------------------------------------
# schemas
# ---------------------------------------------------------------------------------------------


def test_predefined_schemas_resolve_by_name():
    assert get_schema() is SCHEMAS["nanoaod"]
    assert get_schema("cms-dimuon").tree == "events"
    assert get_schema("cms-dimuon").jet is None
    assert SCHEMAS["nanoaod"].branches()[:4] == ("Muon_pt", "Muon_eta", "Muon_phi", "Muon_charge")
    assert SCHEMAS["cms-dimuon-cartesian"].muon.branches()[:5] == ("px1", "py1", "pz1", "E1", "Q1")


def test_optional_parts_are_dropped_only_when_entirely_absent():
    nanoaod = SCHEMAS["nanoaod"]
    muon_only = {"Muon_pt", "Muon_eta", "Muon_phi", "Muon_charge"}
    assert nanoaod.for_branches(muon_only).jet is None
    assert nanoaod.for_branches(muon_only).weight is None
    assert nanoaod.missing(muon_only) == []
    assert nanoaod.missing(muon_only | {"Jet_pt"}) == ["Jet_eta", "Jet_phi", "Jet_mass"]
    assert SCHEMAS["nanoaod-genweight"].missing(muon_only) == ["genWeight"]
    assert schemas_matching(muon_only | {"weight"}) == ["nanoaod"]


def test_draw_branch_is_optional_in_the_nanoaod_schemas():
    muon_only = {"Muon_pt", "Muon_eta", "Muon_phi", "Muon_charge"}
    for name in ("nanoaod", "nanoaod-genweight"):
        assert SCHEMAS[name].draw == "draw"
        assert SCHEMAS[name].for_branches(muon_only).draw is None
        assert SCHEMAS[name].for_branches(muon_only | {"draw"}).draw == "draw"
    assert SCHEMAS["nanoaod"].missing(muon_only) == []
    assert SCHEMAS["cms-dimuon"].draw is None
    schema = Schema.from_dict({"muon": {"prefix": "Mu"}, "draw": "posterior_index"})
    assert schema.draw == "posterior_index" and "posterior_index" in schema.branches()
    assert Schema.from_dict(schema.to_dict()) == schema
    with pytest.raises(HepgenInputError, match="'draw' must be a branch name"):
        Schema.from_dict({"muon": {"prefix": "Mu"}, "draw": 3})
    with pytest.raises(HepgenInputError, match="'draw' and 'weight' name the same branch"):
        Schema.from_dict({"muon": {"prefix": "Mu"}, "draw": "w", "weight": "w"})


def test_unknown_schema_name_is_an_input_error():
    with pytest.raises(HepgenInputError, match="unknown schema 'nano'.*nanoaod"):
        get_schema("nano")


def test_json_schema_round_trips(tmp_path: Path):
    mapping = {
        "name": "delphes-like",
        "tree": "Delphes",
        "weight": "Event_Weight",
        "muon": {"prefix": "Mu"},
        "jet": {
            "kinematics": "cartesian",
            "jagged": {"px": "J_px", "py": "J_py", "pz": "J_pz", "E": "J_E"},
        },
    }
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(mapping))
    schema = get_schema(path)
    assert schema == load_schema(str(path))
    assert schema.muon.jagged == {
        "pt": "Mu_pt",
        "eta": "Mu_eta",
        "phi": "Mu_phi",
        "charge": "Mu_charge",
    }
    assert schema.jet is not None and schema.jet.kinematics == "cartesian"
    assert schema.weight_required
    assert Schema.from_dict(schema.to_dict()) == schema


def test_json_schema_with_flat_objects_and_no_jets():
    schema = Schema.from_dict(
        {
            "muon": {
                "objects": [
                    {"pt": f"pt{i}", "eta": f"eta{i}", "phi": f"phi{i}", "charge": f"Q{i}"}
                    for i in (1, 2)
                ]
            }
        }
    )
    assert schema.jet is None and schema.tree is None
    assert schema.branches() == ("pt1", "eta1", "phi1", "Q1", "pt2", "eta2", "phi2", "Q2")


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"muon": {"prefix": "Mu"}, "treee": "x"}, "unknown key.*treee"),
        ({"jet": {"prefix": "Jet"}}, "no 'muon' collection"),
        ({"muon": {"prefix": "Mu", "kinematics": "polar"}}, "kinematics 'polar'"),
        ({"muon": {"jagged": {"pt": "a", "eta": "b", "phi": "c"}}}, "no branch for charge"),
        (
            {"muon": {"prefix": "Mu"}, "jet": {"jagged": {"pt": "a", "eta": "b", "phi": "c"}}},
            "jet: no branch for mass",
        ),
        ({"muon": {"prefix": "Mu", "jagged": {}}}, "exactly one of"),
        ({"muon": {"prefix": "Mu", "optional": True}}, "only the jet collection may be optional"),
        (
            {"muon": {"jagged": {"pt": "a", "eta": "b", "phi": "c", "charge": "q", "colour": "x"}}},
            "unknown field.*colour",
        ),
        (
            {
                "muon": {
                    "objects": [
                        {"pt": "a", "eta": "b", "phi": "c", "charge": "q"},
                        {"pt": "a", "eta": "b", "phi": "c", "charge": "q", "mass": "m"},
                    ]
                }
            },
            "same fields",
        ),
    ],
)
def test_invalid_json_schemas_are_rejected(mapping, message):
    with pytest.raises(HepgenInputError, match=message):
        Schema.from_dict(mapping)


def test_schema_file_that_is_not_json(tmp_path: Path):
    path = tmp_path / "schema.json"
    path.write_text("{muon: Muon_pt")
    with pytest.raises(HepgenInputError, match="schema file .*schema.json: not readable JSON"):
        load_schema(path)


# ---------------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------------


def test_round_trip_with_jets_and_weights(toy_file):
    path, events = toy_file
    got, report = read_events(path)
    assert report.n_read == report.n_kept == N_TOY and report.n_skipped == 0
    assert_same_events(got, as_float32(events))
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(got.Muon.mass)), MUON_MASS)


def test_round_trip_of_dimuon_only_records(tmp_path: Path, make_events):
    events = make_events(N_TOY, seed=2, with_jets=False, with_weights=True)
    path = tmp_path / "dimuon.root"
    write_events(path, events)
    got, report = read_events(path)
    assert "Jet" not in ak.fields(got)
    assert report.n_kept == N_TOY
    assert_same_events(got, as_float32(events))


def test_round_trip_of_posterior_draws(tmp_path: Path, make_events):
    events = with_draws(make_events(N_TOY, seed=12, with_weights=True), 4)
    path = tmp_path / "draws.root"
    write_events(path, [events[:100], events[100:]])
    assert uproot.open(path)["Events"].typenames()["draw"] == "int32_t"
    got, report = read_events(path, step_size=70)
    assert report.n_kept == N_TOY
    assert got.draw.type.content == ak.types.NumpyType("int32")
    assert_same_events(got, as_float32(events))
    np.testing.assert_array_equal(np.bincount(ak.to_numpy(got.draw)), [75, 75, 75, 75])
    chunks = list(iterate_events(path, step_size=70))
    assert all("draw" in ak.fields(c) for c in chunks)
    rntuple = write_rntuple(tmp_path / "draws_rntuple.root", nanoaod_branches(events))
    got, _ = read_events(rntuple, step_size=64)
    assert_same_events(got, as_float32(events))


def test_file_without_draw_reads_as_before(toy_file):
    path, events = toy_file
    assert "draw" not in uproot.open(path)["Events"].keys()
    got, _ = read_events(path)
    assert set(ak.fields(got)) == {"Muon", "Jet", "weight"}
    assert_same_events(got, as_float32(events))


def test_selection_carries_the_draw_along(tmp_path: Path, make_events):
    events = with_draws(make_events(40, seed=13), 4)  # draws 0..3, 10 events each
    branches = nanoaod_branches(events)
    charge = ak.to_numpy(ak.flatten(branches["Muon_charge"])).reshape(-1, 2)
    charge[[0, 1, 10, 39]] = 1  # same-sign events: two of draw 0, one of draw 1, one of draw 3
    branches["Muon_charge"] = ak.unflatten(charge.ravel(), 2)
    path = write_ttree(tmp_path / "skips.root", branches)
    got, report = read_events(path)
    assert report.skipped == {"no opposite-charge muon pair": 4}
    np.testing.assert_array_equal(np.bincount(ak.to_numpy(got.draw)), [8, 9, 10, 9])
    kept = np.setdiff1d(np.arange(40), [0, 1, 10, 39])
    np.testing.assert_allclose(
        ak.to_numpy(got.Muon.pt[:, 0]),
        ak.to_numpy(events.Muon.pt[kept, 0]),
        rtol=FLOAT32_RTOL,
    )


def test_chunked_reading_equals_single_read(toy_file):
    path, _ = toy_file
    single, single_report = read_events(path, step_size=10 * N_TOY)
    step = 70
    report = SelectionReport()
    chunks = list(iterate_events(path, step_size=step, report=report))
    assert len(chunks) == -(-N_TOY // step)
    assert all(len(c) <= step for c in chunks)
    assert_same_events(ak.concatenate(chunks), single, rtol=0)
    assert report == single_report
    chunked, _ = read_events(path, step_size=step)
    assert_same_events(chunked, single, rtol=0)


def test_max_events_reads_the_first_entries(toy_file):
    path, events = toy_file
    got, report = read_events(path, max_events=50, step_size=20)
    assert report.n_read == 50
    assert_same_events(got, as_float32(events[:50]))


def test_weight_option_names_the_weight_branch(toy_file):
    path, events = toy_file
    got, _ = read_events(path, weight="weight")
    np.testing.assert_allclose(
        ak.to_numpy(got.weight), ak.to_numpy(events.weight), rtol=FLOAT32_RTOL
    )
    with pytest.raises(HepgenInputError, match="missing branch 'genWeight'"):
        read_events(path, weight="genWeight")
    with pytest.raises(HepgenInputError, match="missing branch 'genWeight'"):
        read_events(path, "nanoaod-genweight")


def test_failed_write_leaves_no_file(tmp_path: Path, make_events):
    path = tmp_path / "out.root"

    def chunks() -> Iterator[ak.Array]:
        yield make_events(20, seed=3)
        raise RuntimeError("generator failed mid-way")

    with pytest.raises(RuntimeError, match="mid-way"):
        write_events(path, chunks())
    assert list(tmp_path.iterdir()) == []


def test_read_select_write_read(tmp_path: Path, shared_data_path):
    events, _ = read_events(shared_data_path(CMS_FILE), "cms-dimuon")
    path = tmp_path / "cms.root"
    write_events(path, events)
    got, _ = read_events(path)
    assert_same_events(got, as_float32(events))


# ---------------------------------------------------------------------------------------------
# RNTuple, tree detection, Cartesian momenta
# ---------------------------------------------------------------------------------------------


def test_rntuple_with_nanoaod_names(tmp_path: Path, make_events):
    events = make_events(N_TOY, seed=4, with_weights=True)
    path = write_rntuple(tmp_path / "rntuple.root", nanoaod_branches(events))
    assert uproot.open(path).classnames() == {"Events;1": "ROOT::RNTuple"}
    got, _ = read_events(path, step_size=128)
    assert_same_events(got, as_float32(events))


def test_multi_cluster_rntuple_read_in_steps_equals_single_read(tmp_path: Path, make_events):
    events = make_events(N_TOY, seed=12, with_weights=True)
    cut = 110  # cluster boundary, not a multiple of the step
    path = tmp_path / "clusters.root"
    with uproot.recreate(path) as file:
        file["Events"] = nanoaod_branches(events[:cut])
        file["Events"].extend(nanoaod_branches(events[cut:]))
    assert len(uproot.open(path)["Events"].cluster_summaries) == 2
    chunks = list(iterate_events(path, step_size=50))
    assert [len(c) for c in chunks] == [50, 50, 10, 50, 50, 50, 40]
    assert_same_events(ak.concatenate(chunks), as_float32(events))
    got, report = read_events(path, max_events=cut + 5, step_size=100)
    assert report.n_read == cut + 5
    assert_same_events(got, as_float32(events[: cut + 5]))


def test_rntuple_with_nested_fields_through_a_json_mapping(tmp_path: Path, make_events):
    events = make_events(N_TOY, seed=5, with_jets=False)
    muon = ak.zip({f: events.Muon[f] for f in MUON_FIELDS})
    path = write_rntuple(tmp_path / "nested.root", {"Muon": muon}, tree="Muons")
    schema = Schema.from_dict({"muon": {"jagged": {f: f"Muon.{f}" for f in MUON_FIELDS}}})
    got, _ = read_events(path, schema)
    assert_same_events(got, events, rtol=0)


def test_single_tree_with_another_name_is_found(tmp_path: Path, make_events):
    events = make_events(N_TOY, seed=6)
    path = write_ttree(tmp_path / "other.root", nanoaod_branches(events), tree="ntuple")
    got, _ = read_events(path)
    assert_same_events(got, as_float32(events))


def test_cartesian_jagged_branches_convert_through_vector(tmp_path: Path, make_events):
    events = make_events(N_TOY, seed=7)
    branches = {
        f"{c}_{n}": getattr(events[c], n.lower())
        for c in ("Muon", "Jet")
        for n in ("px", "py", "pz", "E")
    }
    branches["Muon_charge"] = events.Muon.charge
    path = write_ttree(tmp_path / "cartesian.root", branches)
    schema = Schema(
        CollectionSchema.from_prefix("Muon", ("px", "py", "pz", "E", "charge"), "cartesian"),
        CollectionSchema.from_prefix("Jet", ("px", "py", "pz", "E"), "cartesian"),
    )
    got, _ = read_events(path, schema)
    assert_same_events(got, events, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# real files nobody here wrote
# ---------------------------------------------------------------------------------------------


def _pair_mass(events: ak.Array) -> np.ndarray:
    """m_mumu [GeV] of the two muons, (N,), through vector."""
    return np.asarray(ak.to_numpy((events.Muon[:, 0] + events.Muon[:, 1]).mass))


def test_cms_dimuon_file_selection_counts(shared_data_path):
    events, report = read_events(shared_data_path(CMS_FILE), "cms-dimuon")
    assert report.n_read == CMS_ENTRIES
    assert report.skipped == {"no opposite-charge muon pair": CMS_SAME_SIGN}
    assert len(events) == CMS_ENTRIES - CMS_SAME_SIGN
    assert "Jet" not in ak.fields(events)
    assert ak.all(ak.sum(events.Muon.charge, axis=1) == 0)


def test_cms_cartesian_pair_mass_matches_the_m_branch(shared_data_path):
    path = shared_data_path(CMS_FILE)
    raw = uproot.open(path)["events"].arrays(["M", "Q1", "Q2"], library="np")
    opposite = raw["Q1"] != raw["Q2"]
    events, _ = read_events(path, "cms-dimuon-cartesian")
    np.testing.assert_allclose(_pair_mass(events), raw["M"][opposite], rtol=1e-6)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(events.Muon.mass)), MUON_MASS, rtol=1e-4)


def test_cms_ptetaphi_agrees_with_cartesian_for_most_muons(shared_data_path):
    """The file's pt/eta/phi branches come from another muon fit than its px/py/pz/E (and M) for
    about half the muons: they agree exactly for ~52% and within 1% for ~96% of muons; the pair
    masses agree within 1% for ~96% of events (median difference 8e-4)."""
    path = shared_data_path(CMS_FILE)
    polar, _ = read_events(path, "cms-dimuon")
    cartesian, _ = read_events(path, "cms-dimuon-cartesian")

    def positive(events: ak.Array, name: str) -> np.ndarray:
        return np.asarray(ak.to_numpy(ak.flatten(events.Muon[name][events.Muon.charge == 1])))

    for name in ("pt", "eta", "phi"):
        close = np.isclose(positive(polar, name), positive(cartesian, name), rtol=1e-2, atol=1e-3)
        assert np.mean(close) > 0.9, name
    assert np.mean(np.isclose(positive(polar, "pt"), positive(cartesian, "pt"), rtol=1e-6)) > 0.4
    mass_ratio = _pair_mass(polar) / _pair_mass(cartesian)
    assert np.median(np.abs(mass_ratio - 1)) < 2e-3
    assert np.mean(np.abs(mass_ratio - 1) < 1e-2) > 0.9


def test_nanoaod_schema_on_file_without_eta_names_muon_eta(shared_data_path):
    with pytest.raises(HepgenInputError) as err:
        read_events(shared_data_path(DY_FILE))
    message = str(err.value)
    assert "\n" not in message
    assert "tree 'tree'" in message and "'Muon_eta'" in message and DY_FILE in message


def test_wrong_schema_on_cms_file_suggests_the_matching_one(shared_data_path):
    with pytest.raises(HepgenInputError, match="missing branches 'Muon_pt'.*'cms-dimuon'"):
        read_events(shared_data_path(CMS_FILE))


# ---------------------------------------------------------------------------------------------
# bad input: each raises a one-line HepgenInputError naming file/tree/branch
# ---------------------------------------------------------------------------------------------


def _raises(path: Path, match: str, schema: Schema | str = "nanoaod", **kwargs) -> str:
    with pytest.raises(HepgenInputError, match=match) as err:
        read_events(path, schema, **kwargs)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_missing_file(tmp_path: Path):
    _raises(tmp_path / "nope.root", r"nope.root: no such file")


def test_directory_instead_of_file(tmp_path: Path):
    _raises(tmp_path, "is a directory")


def test_text_file(tmp_path: Path):
    path = tmp_path / "notes.root"
    path.write_text("these are not events\n" * 100)
    _raises(path, r"notes.root: not a readable ROOT file")


def test_truncated_real_file(tmp_path: Path, shared_data_path):
    data = shared_data_path(CMS_FILE).read_bytes()
    path = tmp_path / "cut.root"
    path.write_bytes(data[: len(data) // 2])
    _raises(path, r"cut.root: not a readable ROOT file.*truncated", "cms-dimuon")


def test_truncated_file_fails_while_reading_entries(tmp_path: Path, make_events):
    events = make_events(4000, seed=8)
    full = tmp_path / "full.root"
    write_events(full, [events[i : i + 1000] for i in range(0, 4000, 1000)])
    data = full.read_bytes()
    path = tmp_path / "cut.root"
    path.write_bytes(data[: len(data) // 2])
    _raises(path, r"cut.root: tree 'Events': cannot read entries .*truncated")


def test_missing_tree(toy_file):
    path, _ = toy_file
    schema = Schema(SCHEMAS["nanoaod"].muon, tree="Delphes")
    _raises(path, r"toy.root: no TTree or RNTuple 'Delphes'.*trees in the file: Events", schema)


def test_no_default_tree_among_several(tmp_path: Path, make_events):
    branches = nanoaod_branches(make_events(10))
    path = tmp_path / "two.root"
    with uproot.recreate(path) as file:
        for name in ("a", "b"):
            file.mktree(name, {k: v.type for k, v in branches.items() if isinstance(v, ak.Array)})
    _raises(path, r"no tree 'Events' and 2 others \(a, b\); name the tree")


def test_missing_branch(tmp_path: Path, make_events):
    branches = nanoaod_branches(make_events(50))
    del branches["Muon_phi"]
    path = write_ttree(tmp_path / "nophi.root", branches)
    _raises(path, r"tree 'Events': missing branch 'Muon_phi' needed by schema 'nanoaod'")


def test_partly_present_jets_are_an_error(tmp_path: Path, make_events):
    branches = nanoaod_branches(make_events(50))
    del branches["Jet_mass"]
    path = write_ttree(tmp_path / "nomass.root", branches)
    _raises(path, r"missing branch 'Jet_mass'")


def _replace_branch(tmp_path: Path, make_events, name: str, values, rntuple: bool = False) -> Path:
    branches = nanoaod_branches(make_events(50, seed=9, with_weights=True))
    branches[name] = values(branches[name]) if callable(values) else values
    writer = write_rntuple if rntuple else write_ttree
    return writer(tmp_path / "bad.root", branches)


@pytest.mark.parametrize(
    ("branch", "values", "rntuple", "found"),
    [
        ("Muon_pt", lambda v: v > 30, False, "var \\* bool"),
        ("Muon_pt", lambda v: ak.values_astype(v, "int32"), False, "var \\* int32"),
        (
            "Muon_pt",
            lambda v: ak.Array([[str(x) for x in row] for row in v.tolist()]),
            True,
            "var \\* string",
        ),
        ("Muon_pt", lambda v: ak.to_numpy(ak.firsts(v)), False, "float32; expected a jagged"),
        ("Muon_charge", lambda v: v == 1, False, "var \\* bool"),
        ("weight", lambda v: v > 1, False, "bool; expected one value per event"),
    ],
    ids=["bool-pt", "int-pt", "string-pt", "flat-pt", "bool-charge", "bool-weight"],
)
def test_wrong_dtype_or_shape(tmp_path, make_events, branch, values, rntuple, found):
    path = _replace_branch(tmp_path, make_events, branch, values, rntuple)
    _raises(path, rf"tree 'Events': branch '{branch}' has type {found}")


def test_jagged_branch_where_a_flat_one_is_expected(tmp_path: Path, make_events):
    branches = nanoaod_branches(make_events(20))
    path = write_ttree(tmp_path / "jagged.root", branches)
    schema = Schema(
        CollectionSchema(
            objects=tuple(
                {"pt": "Muon_pt", "eta": "Muon_eta", "phi": "Muon_phi", "charge": "Muon_charge"}
                for _ in range(2)
            )
        )
    )
    _raises(path, r"branch 'Muon_pt' has type var \* float32; expected one value per event", schema)


def test_charges_other_than_plus_minus_one(tmp_path: Path, make_events):
    path = _replace_branch(tmp_path, make_events, "Muon_charge", lambda v: v * 2)
    _raises(path, r"branch 'Muon_charge': 100 muon charges not in \{-1, \+1\}")


def test_object_counts_differ_within_a_collection(tmp_path: Path, make_events):
    path = _replace_branch(tmp_path, make_events, "Muon_eta", lambda v: v[:, :1])
    _raises(path, r"branches 'Muon_pt' and 'Muon_eta' have different object counts in 50 events")


def _with_bad_values(values: ak.Array) -> ak.Array:
    flat = ak.to_numpy(ak.flatten(values)).copy()
    flat[[0, 5]] = np.nan
    flat[7] = np.inf
    return ak.unflatten(flat, ak.num(values, axis=1))


def test_nan_and_inf_values_are_counted_not_dropped(tmp_path: Path, make_events):
    path = _replace_branch(tmp_path, make_events, "Jet_eta", _with_bad_values)
    message = _raises(
        path, r"branch 'Jet_eta': 3 non-finite values \(2 NaN, 1 inf\) in entries 0-49"
    )
    assert "bad.root" in message


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (
            lambda n: np.arange(n, dtype=np.float32),
            r"branch 'draw' has type float32; expected one value per event of posterior-draw "
            r"indices 0\.\.K-1 \(integers\)",
        ),
        (
            lambda n: np.where(np.arange(n) < 3, -1, 0).astype(np.int32),
            r"branch 'draw': 3 values outside 0\.\.2147483647 \(smallest -1\) in entries 0-49",
        ),
        (
            lambda n: np.full(n, 2**40, dtype=np.int64),
            r"branch 'draw': 50 values outside 0\.\.2147483647",
        ),
    ],
    ids=["float", "negative", "too-large"],
)
def test_bad_draw_branch(tmp_path: Path, make_events, values, match):
    path = _replace_branch(tmp_path, make_events, "draw", values(50))
    message = _raises(path, match)
    assert "bad.root: tree 'Events'" in message


def test_writer_rejects_a_draw_field_that_is_not_an_index(tmp_path: Path, make_events):
    events = make_events(10, seed=14)
    path = tmp_path / "out.root"
    for draw, match in ((np.linspace(0, 1, 10), "dtype float64"), (np.arange(-1, 9), r"\[-1, 8\]")):
        with pytest.raises(HepgenInputError, match=f"write_events: 'draw' has .*{match}"):
            write_events(path, ak.with_field(events, draw, "draw"))
    assert list(tmp_path.iterdir()) == []


def test_nan_weights(tmp_path: Path, make_events):
    def bad(values):
        out = values.copy()
        out[3] = np.nan
        return out

    path = _replace_branch(tmp_path, make_events, "weight", bad)
    _raises(path, r"branch 'weight': 1 non-finite values")


def test_cartesian_momentum_along_the_beam_gives_infinite_eta(tmp_path: Path):
    ones = np.ones(3)
    zero_pt = np.array([0.0, 1.0, 1.0])
    branches = {
        "px1": zero_pt,
        "py1": np.zeros(3),
        "pz1": ones,
        "E1": 2 * ones,
        "Q1": np.ones(3, dtype=np.int32),
        "px2": ones,
        "py2": ones,
        "pz2": ones,
        "E2": 2 * ones,
        "Q2": -np.ones(3, dtype=np.int32),
    }
    path = write_ttree(tmp_path / "beam.root", branches, tree="events")
    _raises(path, r"eta computed from \(px1, .*\): 1 non-finite values", "cms-dimuon-cartesian")


def test_empty_tree(tmp_path: Path, make_events):
    path = tmp_path / "empty.root"
    write_events(path, make_events(5)[:0])
    _raises(path, r"empty.root: tree 'Events': the tree has no entries")


def test_events_outside_the_selection_are_skipped_and_counted(tmp_path: Path, make_events):
    events = make_events(40, seed=10)
    branches = nanoaod_branches(events)
    charge = ak.to_numpy(ak.flatten(branches["Muon_charge"])).reshape(-1, 2)
    charge[:10] = 1  # 10 same-sign events
    branches["Muon_charge"] = ak.unflatten(charge.ravel(), 2)
    path = write_ttree(tmp_path / "skips.root", branches)
    got, report = read_events(path)
    assert report.skipped == {"no opposite-charge muon pair": 10}
    assert report.n_kept == len(got) == 30


def test_no_event_left_raises_no_events_error(tmp_path: Path, make_events):
    branches = nanoaod_branches(make_events(20, seed=11))
    branches["Muon_charge"] = ak.ones_like(branches["Muon_charge"])
    path = write_ttree(tmp_path / "samesign.root", branches)
    with pytest.raises(
        HepgenNoEventsError, match=r"samesign.root: tree 'Events': no event left .*read 20"
    ):
        read_events(path, step_size=7)


@pytest.mark.parametrize(("option", "value"), [("step_size", 0), ("max_events", 0)])
def test_invalid_options(toy_file, option, value):
    path, _ = toy_file
    _raises(path, rf"{option} must be a positive", **{option: value})


@pytest.mark.parametrize("spec, codec", [
    ("zstd:1", uproot.ZSTD), ("zlib", uproot.ZLIB), ("lz4:4", uproot.LZ4), ("lzma:1", uproot.LZMA),
    ("none", None),
])
def test_every_compression_writes_a_file_that_reads_back(tmp_path: Path, make_events, spec,
                                                          codec):
    events = make_events(300, seed=8)
    path = tmp_path / "c.root"
    assert write_events(path, events, compression=spec) == 300
    with uproot.open(path) as f:
        compression = f.file.compression
        assert (compression is None) if codec is None else isinstance(compression, codec)
    got, _ = read_events(path)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(got.Jet.pt)),
                               ak.to_numpy(ak.flatten(events.Jet.pt)), rtol=FLOAT32_RTOL)


@pytest.mark.parametrize("spec, match", [("gzip", "expected one of"), ("zstd:0", "1-9"),
                                         ("zlib:x", "1-9"), ("none:3", "no level")])
def test_bad_compression_fails_before_writing(tmp_path: Path, make_events, spec, match):
    with pytest.raises(ValueError, match=match):
        write_events(tmp_path / "c.root", make_events(10, seed=1), compression=spec)
    assert list(tmp_path.iterdir()) == []
