"""Tests of the event record and the event selection (hepgen.physics.events)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from hepgen.physics.constants import MUON_MASS
from hepgen.physics.errors import HepgenNoEventsError
from hepgen.physics.events import (
    SelectionReport,
    build_events,
    event_weights,
    in_reference_phase_space,
    n_jets,
    require_events,
    select,
    select_dimuon,
    with_weights,
)


def _muons(pt, charge):
    n = ak.num(ak.Array(pt), axis=1)
    zeros = ak.unflatten(np.zeros(int(ak.sum(n))), n)
    return {"pt": ak.Array(pt), "eta": zeros, "phi": zeros, "charge": ak.Array(charge)}


def _jets(pt):
    arr = ak.Array(pt)
    n = ak.num(arr, axis=1)
    flat = np.zeros(int(ak.sum(n)))
    z = ak.unflatten(flat, n)
    return {"pt": arr, "eta": z, "phi": z, "mass": z}


def test_build_events_sorts_by_pt_and_sets_muon_mass():
    ev = build_events(_muons([[10.0, 30.0, 20.0]], [[1, -1, 1]]), _jets([[25.0, 60.0]]))
    assert ev.Muon.pt.tolist() == [[30.0, 20.0, 10.0]]
    assert ev.Muon.charge.tolist() == [[-1, 1, 1]]
    assert ev.Jet.pt.tolist() == [[60.0, 25.0]]
    assert np.allclose(ak.flatten(ev.Muon.mass).to_numpy(), MUON_MASS)
    assert str(ak.type(ev.Muon.charge)).endswith("int32")


def test_leading_opposite_charge_pair_is_kept():
    # pT-ordered muons: (+, +, -): the leading muon pairs with the third one.
    # (+, -, -): the leading muon pairs with the second.  (-, -): no pair -> skipped.
    ev = build_events(
        _muons([[50.0, 40.0, 30.0], [50.0, 40.0, 30.0], [50.0, 40.0], [20.0]],
               [[1, 1, -1], [1, -1, -1], [-1, -1], [1]]),
        _jets([[30.0], [30.0], [30.0], [30.0]]),
    )
    kept, skipped = select_dimuon(ev)
    assert kept.Muon.pt.tolist() == [[50.0, 30.0], [50.0, 40.0]]
    assert kept.Muon.charge.tolist() == [[1, -1], [1, -1]]
    assert skipped == {"fewer than two muons": 1, "no opposite-charge muon pair": 1}


def test_leading_muon_without_partner_falls_back_to_next_pair():
    ev = build_events(_muons([[50.0, 40.0, 30.0]], [[1, -1, 1]]), None)
    # leading (+) pairs with the second (-): first opposite-charge pair in pT order
    kept, _ = select_dimuon(ev)
    assert kept.Muon.pt.tolist() == [[50.0, 40.0]]
    ev = build_events(_muons([[50.0, 40.0, 30.0]], [[1, 1, 1]]), None)
    kept, skipped = select_dimuon(ev)
    assert len(kept) == 0 and skipped == {"no opposite-charge muon pair": 1}


def test_jet_multiplicity_selection_counts_skipped_events():
    ev = build_events(
        _muons([[50.0, 40.0]] * 4, [[1, -1]] * 4),
        _jets([[], [30.0], [30.0, 25.0, 22.0], [30.0, 25.0, 22.0, 21.0]]),
    )
    kept, report = select(ev)
    assert n_jets(kept).tolist() == [1, 3]
    assert report.n_read == 4 and report.n_kept == 2 and report.n_skipped == 2
    assert report.skipped == {"jet count outside 1-3": 2}
    assert "skipped 2" in report.summary()


def test_dimuon_only_record_passes_jet_selection():
    ev = build_events(_muons([[50.0, 40.0]], [[1, -1]]), None)
    kept, report = select(ev)
    assert len(kept) == 1 and report.n_skipped == 0
    assert n_jets(kept).tolist() == [0]


def test_weights_default_to_one_and_can_be_set():
    ev = build_events(_muons([[50.0, 40.0]] * 2, [[1, -1]] * 2), None)
    assert event_weights(ev).tolist() == [1.0, 1.0]
    ev = with_weights(ev, np.array([0.5, 2.0]))
    assert event_weights(ev).tolist() == [0.5, 2.0]


def test_report_accumulates_and_no_event_left_is_an_error():
    a = SelectionReport(n_read=3, n_kept=2, skipped={"x": 1})
    a.add(SelectionReport(n_read=2, n_kept=0, skipped={"x": 1, "y": 1}))
    assert (a.n_read, a.n_kept, a.skipped) == (5, 2, {"x": 2, "y": 1})
    empty = build_events(_muons([[50.0, 40.0]], [[1, 1]]), None)
    kept, report = select(empty)
    with pytest.raises(HepgenNoEventsError, match="in.root: no event left"):
        require_events(kept, "in.root", report)


def test_reference_phase_space_cuts_each_condition():
    muons = _muons([[50.0, 40.0]] * 6, [[1, -1]] * 6)
    jets = _jets([[25.0], [19.9], [30.0, 25.0, 22.0, 21.0], [30.0], [30.0], [40.0, 20.0]])
    jets["eta"] = ak.Array([[0.0], [0.0], [0.0] * 4, [5.0], [0.0], [1.0, -4.99]])
    jets["mass"] = ak.Array([[0.0], [0.0], [0.0] * 4, [0.0], [-0.5], [3.0, 0.0]])
    # build_events sorts by pT; the mask must follow the sorted record
    got = in_reference_phase_space(build_events(muons, jets))
    np.testing.assert_array_equal(got, [True, False, False, False, False, True])


def test_reference_phase_space_has_no_object_above_the_beam_energy():
    """sqrt(s) / 2 = 6.5 TeV bounds every final-state energy: 100 GeV at eta 4.9 is 6.7 TeV,
    a 50 GeV muon at eta 6 is 10 TeV, at eta 5.5 6.1 TeV."""
    muons = _muons([[50.0, 40.0]] * 4, [[1, -1]] * 4)
    muons["eta"] = ak.Array([[0.0, 0.0], [0.0, 0.0], [6.0, 0.0], [5.5, 0.0]])
    jets = _jets([[100.0]] * 4)
    jets["eta"] = ak.Array([[4.5], [4.9], [0.0], [0.0]])
    got = in_reference_phase_space(build_events(muons, jets))
    np.testing.assert_array_equal(got, [True, False, False, True])


def test_reference_phase_space_rejects_non_finite_kinematics():
    muons = _muons([[50.0, 40.0]] * 4, [[1, -1]] * 4)
    muons["phi"] = ak.Array([[0.0, 0.0], [0.0, np.nan], [0.0, 0.0], [0.0, 0.0]])
    muons["eta"] = ak.Array([[0.0, 0.0], [0.0, 0.0], [np.inf, 0.0], [0.0, 0.0]])
    jets = _jets([[30.0]] * 4)
    jets["phi"] = ak.Array([[0.0], [0.0], [0.0], [np.nan]])
    got = in_reference_phase_space(build_events(muons, jets))
    np.testing.assert_array_equal(got, [True, False, False, False])

