"""Tests of the reference simulation (Pythia 8 + anti-kT jets) and ``hepgen simulate``.

Record-handling logic (seeds, shares, muon copy chains) is tested on hand-built records without
Pythia; the physics checks run a tiny Pythia sample (marker ``simulation``, ~30 kept events).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from hepgen.physics.constants import (
    JET_ABS_ETA_MAX,
    JET_PT_MIN,
    MAX_JETS,
    MIN_JETS,
    MLL_MAX,
    MLL_MIN,
    Z_WINDOW,
)
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.pythia_record import FlatParticles, find_decay_muons, last_copies
from hepgen.physics.simulation import rebatched
from hepgen.physics.simulation_config import (
    PYTHIA_SEED_MAX,
    SimulationConfig,
    SimulationCounts,
    job_seed,
    job_shares,
)

N_KEPT = 30
SEED = 3
#: Fraction of events whose dimuon mass must lie in the generated window (FSR can lower it).
MIN_FRACTION_IN_WINDOW = 0.8

# --------------------------------------------------------------------------------------------
# Without Pythia
# --------------------------------------------------------------------------------------------


def test_job_seeds_are_valid_deterministic_and_distinct():
    seeds = [job_seed(s, j) for s in range(5) for j in range(4)]
    assert all(1 <= s <= PYTHIA_SEED_MAX for s in seeds)
    assert len(set(seeds)) == len(seeds)
    assert job_seed(7, 1) == job_seed(7, 1)


@pytest.mark.parametrize(("n", "jobs"), [(10, 1), (10, 3), (100000, 2), (5, 5)])
def test_job_shares_split_all_events(n, jobs):
    shares = job_shares(n, jobs)
    assert sum(shares) == n and len(shares) == jobs and max(shares) - min(shares) <= 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_events": 0},
        {"n_events": 5, "jobs": 0},
        {"n_events": 2, "jobs": 3},
        {"n_events": 5, "seed": -1},
        {"n_events": 5, "batch_size": 0},
    ],
)
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(HepgenInputError):
        SimulationConfig(**kwargs)


def test_counts_accumulate_and_report():
    counts = SimulationCounts()
    counts.add(SimulationCounts(10, 4, {0: 5, 1: 3, 2: 1, 4: 1}))
    counts.add(SimulationCounts(5, 3, {0: 2, 3: 3}))
    assert counts.n_generated == 15 and counts.n_kept == 7
    assert counts.multiplicity == {1: 3, 2: 1, 3: 3}
    assert sum(counts.multiplicity_fractions.values()) == pytest.approx(1.0)
    report = counts.selection_report()
    assert report.n_read == 15 and report.n_kept == 7 and report.n_skipped == 8
    taken = counts.take()
    assert taken.n_kept == 7 and counts.n_kept == 0 and counts.n_jets_generated == {}


def test_rebatched_keeps_order_and_content():
    chunks = [ak.Array(np.arange(i, i + n)) for i, n in [(0, 3), (3, 2), (5, 4), (9, 1)]]
    out = list(rebatched(iter(chunks), 4))
    assert [len(c) for c in out] == [5, 4, 1]
    assert ak.concatenate(out).tolist() == list(range(10))


#: One event record in Pythia's layout, rows (id, status, mother1, daughter1, daughter2):
#: Z -> mu- mu+; the mu- radiates a photon (daughters (mu, gamma)) and is then copied by recoil
#: (daughter1 == daughter2); the mu+ is copied once. Final copies: rows 7 (mu-) and 6 (mu+).
_RECORD = [
    (90, -11, 0, 0, 0),
    (23, -62, 0, 2, 3),
    (13, -23, 1, 4, 5),
    (-13, -23, 1, 6, 6),
    (13, -51, 2, 7, 7),
    (22, 51, 2, 0, 0),
    (-13, 52, 3, 0, 0),
    (13, 52, 4, 0, 0),
    (211, 81, 0, 0, 0),
]


def _flat(records: list[list[tuple[int, int, int, int, int]]]) -> FlatParticles:
    counts = np.array([len(r) for r in records])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    event = np.repeat(np.arange(len(records)), counts)
    table = np.array([row for record in records for row in record])
    zeros = np.zeros(len(table))
    return FlatParticles(
        len(records), counts, event, starts[event], *table.T, zeros, zeros, zeros, zeros
    )


def test_last_copies_follow_radiation_and_recoil_copies():
    particles = _flat([_RECORD, _RECORD])
    offset = len(_RECORD)
    start = np.array([2, 3, offset + 2, offset + 3])
    assert last_copies(particles, start).tolist() == [7, 6, offset + 7, offset + 6]


def test_find_decay_muons_returns_final_pair_per_event():
    particles = _flat([_RECORD, _RECORD])
    muons = find_decay_muons(particles)
    assert muons.shape == (2, 2)
    assert muons.tolist() == [[7, 6], [len(_RECORD) + 7, len(_RECORD) + 6]]


def test_find_decay_muons_fails_loudly_without_z_muons():
    no_z = [row if row[0] != 23 else (22, -62, 0, 2, 3) for row in _RECORD]
    with pytest.raises(RuntimeError, match="two muons"):
        find_decay_muons(_flat([_RECORD, no_z]))


def test_importing_simulation_does_not_import_pythia_or_fastjet():
    code = (
        "import sys, hepgen.physics, hepgen.physics.simulation; "
        "assert 'pythia8mc' not in sys.modules and 'fastjet' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------------
# With Pythia (tiny samples)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def events() -> ak.Array:
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from hepgen.physics.simulation_loop import simulate_events

    return simulate_events(N_KEPT, seed=SEED)


def _mll(events: ak.Array) -> np.ndarray:
    mu = events.Muon
    return ak.to_numpy((mu[:, 0] + mu[:, 1]).mass)


@pytest.mark.simulation
def test_two_opposite_charge_muons(events):
    assert len(events) == N_KEPT
    assert ak.all(ak.num(events.Muon, axis=1) == 2)
    assert ak.all(events.Muon.charge[:, 0] == -events.Muon.charge[:, 1])
    assert set(np.unique(ak.to_numpy(ak.flatten(events.Muon.charge)))) <= {-1, 1}


@pytest.mark.simulation
def test_jets_pass_the_selection_and_are_pt_ordered(events):
    n_jets = ak.num(events.Jet, axis=1)
    assert ak.all((n_jets >= MIN_JETS) & (n_jets <= MAX_JETS))
    assert ak.all(events.Jet.pt > JET_PT_MIN)
    assert ak.all(abs(events.Jet.eta) < JET_ABS_ETA_MAX)
    assert ak.all(events.Jet.mass >= 0)
    assert ak.all(events.Jet.pt[:, :-1] >= events.Jet.pt[:, 1:])
    assert ak.all(events.Muon.pt[:, 0] >= events.Muon.pt[:, 1])


@pytest.mark.simulation
def test_dimuon_mass_in_the_generated_window_up_to_radiation(events):
    mll = _mll(events)
    assert np.all(mll <= MLL_MAX + 1e-6)  # photon radiation only lowers m_mumu
    in_window = (mll >= MLL_MIN) & (mll <= MLL_MAX)
    assert np.mean(in_window) >= MIN_FRACTION_IN_WINDOW
    assert Z_WINDOW[0] < np.median(mll) < Z_WINDOW[1]


@pytest.mark.simulation
def test_same_seed_reproduces_the_stream_for_any_batch_size(events):
    from hepgen.physics.simulation_loop import simulate_events

    n = N_KEPT // 3
    again = simulate_events(n, seed=SEED, batch_size=7)
    assert ak.array_equal(again, events[:n])


@pytest.mark.simulation
def test_different_seed_gives_different_events(events):
    from hepgen.physics.simulation_loop import simulate_events

    n = N_KEPT // 3
    other = simulate_events(n, seed=SEED + 1)
    assert not np.allclose(_mll(other), _mll(events[:n]))


@pytest.mark.simulation
def test_chunks_report_counts():
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from hepgen.physics.simulation_loop import simulate_chunks

    counts = SimulationCounts()
    chunks = list(simulate_chunks(5, job_seed(SEED, 0), batch_size=4, counts=counts))
    assert sum(len(c) for c in chunks) == 5 == counts.n_kept
    assert counts.n_generated == sum(counts.n_jets_generated.values()) >= counts.n_kept
    assert sum(counts.multiplicity.values()) == counts.n_kept


# --------------------------------------------------------------------------------------------
# The CLI
# --------------------------------------------------------------------------------------------


@pytest.fixture
def cli_main(monkeypatch):
    """``hepgen.cli.main`` with only ``simulate`` registered (other commands have own tests)."""
    import hepgen.cli

    monkeypatch.setattr(hepgen.cli, "SUBCOMMANDS", ("simulate",))
    return hepgen.cli.main


def test_cli_rejects_missing_output_directory(cli_main, tmp_path, capsys):
    out = tmp_path / "missing" / "out.root"
    assert cli_main(["simulate", "-n", "5", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not exist" in err
    assert not out.parent.exists()


@pytest.mark.simulation
def test_cli_two_jobs_writes_readable_file_in_job_order(cli_main, tmp_path: Path, capsys):
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    import uproot

    from hepgen.physics.simulation_loop import simulate_events

    n, seed = 12, 5
    out = tmp_path / "z.root"
    argv = ["-q", "simulate", "-n", str(n), "--seed", str(seed), "-j", "2", "-o", str(out)]
    assert cli_main(argv) == 0
    assert not list(tmp_path.glob("*.tmp.root"))
    tree = uproot.open(out)["Events"]
    assert tree.num_entries == n
    arrays = tree.arrays()
    assert np.all(arrays["nMuon"] == 2)
    assert np.all((arrays["nJet"] >= MIN_JETS) & (arrays["nJet"] <= MAX_JETS))
    # job 0 comes first and is the single-process stream of job_seed(seed, 0)
    first = simulate_events(n // 2, seed=seed)
    stored = ak.to_numpy(ak.flatten(arrays["Muon_pt"][: n // 2]))
    expected = ak.to_numpy(ak.flatten(first.Muon.pt)).astype(np.float32)
    np.testing.assert_array_equal(stored, expected)
