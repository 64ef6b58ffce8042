"""Reference event simulation ``zjets-13tev``: Pythia 8 Z/gamma*(->mu mu) + jet, anti-kT R=0.4 jets.

The canonical spec is in ``design.md`` ("The reference data set"): pp at 13 TeV with Pythia 8
defaults (Monash tune), hard process ``WeakBosonAndParton:qqbar2gmZg`` and ``qg2gmZq`` with
pT-hat > :data:`~hepgen.physics.constants.PTHAT_MIN`, Z/gamma* -> mu+ mu- only with
m in [:data:`MLL_MIN`, :data:`MLL_MAX`] GeV. Muons are the two Z/gamma* decay products followed
through QED radiation and recoil copies to their final-state copies; jets are anti-kT R = 0.4 on
all visible final-state particles with |eta| < 5 except those two muons, pT > 20 GeV, |eta| < 5.
Events with 1..3 jets are kept.

The hot path is vectorised: ``Pythia.nextBatch`` hands over a batch of events as awkward arrays,
the muon chains are followed with numpy on the flattened particle record, and scikit-hep
``fastjet`` clusters the whole batch in one call. ``pythia8mc`` and ``fastjet`` are imported
lazily, so ``hepgen.physics`` imports without them.

Parallelism: ``jobs`` processes, each with its own Pythia seed derived from ``(seed, job index)``;
job ``j`` produces a fixed share of the kept events, and the output is written in job order, so a
file is reproducible for a given seed and job count. Library code is quiet: progress goes through
a callback.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import queue as queue_mod
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import awkward as ak
import numpy as np
import vector

from hepgen.physics.constants import (
    JET_ABS_ETA_MAX,
    JET_INPUT_ABS_ETA_MAX,
    JET_PT_MIN,
    JET_RADIUS,
    MAX_JETS,
    MIN_JETS,
    MLL_MAX,
    MLL_MIN,
    PDG_MUON,
    PDG_NEUTRINOS,
    PDG_Z,
    PTHAT_MIN,
    SQRT_S,
)
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import SelectionReport, build_events

vector.register_awkward()

#: Pythia physics settings of the reference data set (Monash defaults otherwise).
REFERENCE_SETTINGS: tuple[str, ...] = (
    f"Beams:eCM = {SQRT_S:g}",
    "WeakBosonAndParton:qqbar2gmZg = on",
    "WeakBosonAndParton:qg2gmZq = on",
    f"PhaseSpace:pTHatMin = {PTHAT_MIN:g}",
    f"{PDG_Z}:onMode = off",
    f"{PDG_Z}:onIfAny = {PDG_MUON}",
    f"{PDG_Z}:mMin = {MLL_MIN:g}",
    f"{PDG_Z}:mMax = {MLL_MAX:g}",
)
#: Settings that keep Pythia silent (library code is quiet).
QUIET_SETTINGS: tuple[str, ...] = ("Print:quiet = on", "Next:numberCount = 0")
#: Pythia accepts ``Random:seed`` in 1..PYTHIA_SEED_MAX for an explicit seed.
PYTHIA_SEED_MAX: int = 900_000_000
#: Events generated per ``nextBatch`` call (about half are kept); sets the chunk size.
DEFAULT_BATCH_SIZE: int = 200
#: Safety bound on the length of a particle's copy chain in the event record.
MAX_COPY_CHAIN: int = 10_000
#: Events per written chunk (one TTree basket per branch): large baskets keep files small and
#: fast to read; the events of a chunk are about 100 bytes each in memory.
WRITE_CHUNK_EVENTS: int = 10_000
#: Seconds between liveness checks of the worker processes while waiting for results.
WORKER_POLL_S: float = 1.0

ProgressCallback = Callable[[int], None]


# --------------------------------------------------------------------------------------------
# Configuration, seeds and counts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulationConfig:
    """A simulation run.

    Attributes:
        n_events: number of *kept* events (1..3 jets) to produce, over all jobs.
        seed: master seed (>= 0); job seeds are derived with :func:`job_seed`.
        jobs: number of worker processes.
        batch_size: events generated per ``nextBatch`` call (and per written chunk).
        settings: Pythia physics settings (default: the reference spec); quiet and seed
            settings are added by :func:`make_pythia`.
    """

    n_events: int
    seed: int = 1
    jobs: int = 1
    batch_size: int = DEFAULT_BATCH_SIZE
    settings: tuple[str, ...] = REFERENCE_SETTINGS

    def __post_init__(self) -> None:
        for name in ("n_events", "jobs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise HepgenInputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.seed < 0:
            raise HepgenInputError(f"seed must be >= 0, got {self.seed}")
        if self.jobs > self.n_events:
            raise HepgenInputError(f"jobs ({self.jobs}) must not exceed n_events ({self.n_events})")


def job_seed(seed: int, job: int) -> int:
    """Pythia seed of job ``job`` for master seed ``seed``: deterministic, in 1..PYTHIA_SEED_MAX.

    Derived with ``numpy.random.SeedSequence(seed, spawn_key=(job,))``, so jobs get independent
    streams and job ``j``'s seed does not depend on the number of jobs.
    """
    state = np.random.SeedSequence(seed, spawn_key=(job,)).generate_state(1, dtype=np.uint64)
    return int(state[0] % PYTHIA_SEED_MAX) + 1


def job_shares(n_events: int, jobs: int) -> list[int]:
    """Kept events per job: ``n_events`` split as evenly as possible, earlier jobs take the rest."""
    base, rest = divmod(n_events, jobs)
    return [base + (1 if j < rest else 0) for j in range(jobs)]


@dataclass
class SimulationCounts:
    """Event counts of a run (or of one job, or one batch).

    Attributes:
        n_generated: Pythia events generated and looked at.
        n_kept: events passing the 1..3 jet selection.
        n_jets_generated: {number of jets: events} over the generated events (0..MAX_JETS, and
            every higher count that occurred).
    """

    n_generated: int = 0
    n_kept: int = 0
    n_jets_generated: dict[int, int] = field(default_factory=dict)

    def add(self, other: SimulationCounts) -> None:
        """Accumulate ``other`` into these counts."""
        self.n_generated += other.n_generated
        self.n_kept += other.n_kept
        for n, count in other.n_jets_generated.items():
            self.n_jets_generated[n] = self.n_jets_generated.get(n, 0) + count

    def take(self) -> SimulationCounts:
        """A copy of these counts, which are then reset to zero (for sending deltas)."""
        taken = SimulationCounts(self.n_generated, self.n_kept, dict(self.n_jets_generated))
        self.n_generated, self.n_kept, self.n_jets_generated = 0, 0, {}
        return taken

    @property
    def multiplicity(self) -> dict[int, int]:
        """Kept events per jet multiplicity, {1: ..., 2: ..., 3: ...}."""
        return {n: self.n_jets_generated.get(n, 0) for n in range(MIN_JETS, MAX_JETS + 1)}

    @property
    def multiplicity_fractions(self) -> dict[int, float]:
        """Fraction of kept events per jet multiplicity (sums to 1; zeros when nothing kept)."""
        total = max(self.n_kept, 1)
        return {n: count / total for n, count in self.multiplicity.items()}

    def selection_report(self) -> SelectionReport:
        """The counts as a :class:`SelectionReport` (skip reasons: too few / too many jets)."""
        few = sum(c for n, c in self.n_jets_generated.items() if n < MIN_JETS)
        many = sum(c for n, c in self.n_jets_generated.items() if n > MAX_JETS)
        skipped = {f"fewer than {MIN_JETS} jets": few, f"more than {MAX_JETS} jets": many}
        return SelectionReport(
            n_read=self.n_generated,
            n_kept=self.n_kept,
            skipped={reason: count for reason, count in skipped.items() if count},
        )


@dataclass
class SimulationResult:
    """Outcome of :func:`simulate`: counts, timing and where the events went."""

    config: SimulationConfig
    counts: SimulationCounts
    wall_time_s: float
    seeds: list[int]
    out_path: Path | None = None

    @property
    def kept_per_s(self) -> float:
        """Kept events per second of wall time, all jobs together."""
        return self.counts.n_kept / self.wall_time_s if self.wall_time_s > 0 else float("nan")

    @property
    def generated_per_s(self) -> float:
        """Generated events per second of wall time, all jobs together."""
        return self.counts.n_generated / self.wall_time_s if self.wall_time_s > 0 else float("nan")

    @property
    def kept_per_s_per_job(self) -> float:
        """Kept events per second and per job (process)."""
        return self.kept_per_s / self.config.jobs


# --------------------------------------------------------------------------------------------
# Pythia and fastjet set-up
# --------------------------------------------------------------------------------------------


def make_pythia(settings: Sequence[str], seed: int) -> Any:
    """An initialised, quiet ``pythia8mc.Pythia`` with ``settings`` and ``Random:seed = seed``.

    Raises:
        HepgenInputError: a setting Pythia does not accept, or a seed outside 1..PYTHIA_SEED_MAX.
        RuntimeError: Pythia initialisation failed.
    """
    import pythia8mc

    if not 1 <= seed <= PYTHIA_SEED_MAX:
        raise HepgenInputError(f"Pythia seed must be in 1..{PYTHIA_SEED_MAX}, got {seed}")
    pythia = pythia8mc.Pythia("", False)
    seeding = ("Random:setSeed = on", f"Random:seed = {seed}")
    for line in (*QUIET_SETTINGS, *settings, *seeding):
        if not pythia.readString(line):
            raise HepgenInputError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise RuntimeError("Pythia initialisation failed; check the settings")
    return pythia


@contextlib.contextmanager
def _stdout_fd_silenced() -> Iterator[None]:
    """Redirect file descriptor 1 (C/C++ stdout) to /dev/null for the duration of the block."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).fflush(None)  # flush C stdio buffers before restoring
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


_FASTJET_READY = False


def make_jet_definition(radius: float = JET_RADIUS) -> Any:
    """The anti-kT jet definition of the reference data set; silences the fastjet banner once."""
    global _FASTJET_READY
    import fastjet

    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    if not _FASTJET_READY:  # fastjet prints its banner to C++ stdout at the first clustering
        dummy = ak.Array([[{"px": 1.0, "py": 0.0, "pz": 0.0, "E": 1.0}]])
        with _stdout_fd_silenced():
            fastjet.ClusterSequence(dummy, jetdef).inclusive_jets()
        _FASTJET_READY = True
    return jetdef


# --------------------------------------------------------------------------------------------
# Event processing (vectorised over a batch)
# --------------------------------------------------------------------------------------------


class FlatParticles(NamedTuple):
    """The particle records of a batch of N events, flattened to P particles (all numpy, (P,)).

    ``event`` is the event number of each particle, ``offset`` the flat index of the event's
    entry 0 (so a Pythia record index ``i`` of that event is flat index ``offset + i``); the
    mother/daughter indices are Pythia record indices (0 = none). Momenta in GeV.
    """

    n_events: int
    counts: np.ndarray
    event: np.ndarray
    offset: np.ndarray
    pid: np.ndarray
    status: np.ndarray
    mother1: np.ndarray
    daughter1: np.ndarray
    daughter2: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray


def flatten_batch(batch: ak.Array) -> FlatParticles:
    """Flatten the ``prt`` records of a ``Pythia.nextBatch`` result (N events) to numpy arrays."""
    prt = batch["prt"]
    counts = ak.to_numpy(ak.num(prt, axis=1)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    event = np.repeat(np.arange(len(counts)), counts)

    def flat(values: ak.Array) -> np.ndarray:
        return ak.to_numpy(ak.flatten(values, axis=1))

    momentum = prt["p"]
    return FlatParticles(
        n_events=len(counts),
        counts=counts,
        event=event,
        offset=starts[event],
        pid=flat(prt["id"]),
        status=flat(prt["status"]),
        mother1=flat(prt["mother1"]),
        daughter1=flat(prt["daughter1"]),
        daughter2=flat(prt["daughter2"]),
        px=flat(momentum["px"]),
        py=flat(momentum["py"]),
        pz=flat(momentum["pz"]),
        e=flat(momentum["e"]),
    )


def last_copies(particles: FlatParticles, index: np.ndarray) -> np.ndarray:
    """Follow each particle down its chain of same-id daughters to its last copy.

    Pythia's ``iBotCopyId`` rule: a particle is replaced by its daughter with the same PDG id
    (shower recoil copies have ``daughter1 == daughter2``; a QED emission ``mu -> mu gamma``
    has daughters ``(mu, gamma)``) until it has no such daughter.

    Args:
        particles: the flattened batch.
        index: flat indices of the starting particles, shape (K,).

    Returns:
        flat indices of their last copies, shape (K,).
    """
    p = particles
    current = index.copy()
    for _ in range(MAX_COPY_CHAIN):
        base = p.offset[current]
        nxt = current
        for dau in (p.daughter2, p.daughter1):  # daughter1 checked last, so it takes precedence
            d = dau[current]
            flat_d = np.where(d > 0, base + d, current)
            nxt = np.where((d > 0) & (p.pid[flat_d] == p.pid[current]), flat_d, nxt)
        if np.array_equal(nxt, current):
            return current
        current = nxt
    raise RuntimeError(f"particle copy chain longer than {MAX_COPY_CHAIN} entries")


def find_decay_muons(particles: FlatParticles) -> np.ndarray:
    """Flat indices of the final-state copies of the two Z/gamma* decay muons, shape (N, 2).

    The decay muons are the |id| = 13 particles whose first mother is a Z/gamma* (id 23);
    each is followed to its last copy with :func:`last_copies`.

    Raises:
        RuntimeError: an event without exactly one opposite-charge decay-muon pair, or a last
            copy that is not final state (the settings do not describe Z/gamma* -> mu mu).
    """
    p = particles
    mother_pid = p.pid[p.offset + p.mother1]
    first = np.flatnonzero((np.abs(p.pid) == PDG_MUON) & (mother_pid == PDG_Z))
    per_event = np.bincount(p.event[first], minlength=p.n_events)
    if not np.all(per_event == 2):
        bad = int(np.sum(per_event != 2))
        raise RuntimeError(
            f"{bad} of {p.n_events} events lack exactly two muons from the Z/gamma* decay; "
            f"the settings must force {PDG_Z}:onIfAny = {PDG_MUON}"
        )
    final = last_copies(p, first).reshape(p.n_events, 2)
    if not np.all(p.status[final] > 0) or not np.all(p.pid[final].sum(axis=1) == 0):
        raise RuntimeError("a Z/gamma* decay muon chain did not end in a final-state mu+ mu- pair")
    return final


def _momenta(particles: FlatParticles, index: np.ndarray) -> Any:
    """``vector`` numpy Momentum4D objects of the flat particles ``index`` (any shape)."""
    p = particles
    return vector.array({"px": p.px[index], "py": p.py[index], "pz": p.pz[index], "E": p.e[index]})


def jet_inputs(particles: FlatParticles, muons: np.ndarray) -> ak.Array:
    """Visible final-state particles with |eta| < 5, except the decay muons, shape (N, var).

    Visible: final state (status > 0) and not a neutrino. Returns records ``{px, py, pz, E}``
    [GeV], the input format of scikit-hep ``fastjet``.
    """
    p = particles
    candidate = (p.status > 0) & ~np.isin(np.abs(p.pid), PDG_NEUTRINOS)
    candidate[muons.ravel()] = False
    index = np.flatnonzero(candidate)
    with np.errstate(divide="ignore", invalid="ignore"):  # pT = 0: |eta| = inf, rejected
        eta = _momenta(p, index).eta
    index = index[np.abs(eta) < JET_INPUT_ABS_ETA_MAX]
    counts = np.bincount(p.event[index], minlength=p.n_events)
    fields = {"px": p.px[index], "py": p.py[index], "pz": p.pz[index], "E": p.e[index]}
    return ak.unflatten(ak.zip(fields), counts)


def cluster_jets(inputs: ak.Array, jetdef: Any) -> dict[str, ak.Array]:
    """Anti-kT jets of every event with pT > JET_PT_MIN and |eta| < JET_ABS_ETA_MAX.

    Args:
        inputs: (N, var) records ``{px, py, pz, E}`` [GeV].
        jetdef: a ``fastjet.JetDefinition`` (see :func:`make_jet_definition`).

    Returns:
        ``pt``, ``eta``, ``phi``, ``mass`` jagged (N, var) [GeV, rad], not yet pT-ordered. Jet
        masses are >= 0: fastjet's signed mass of a (nearly) massless single-particle jet is
        rounding at the 1e-6 GeV level and is taken as 0 — ``sqrt(max(m^2, 0))``.
    """
    import fastjet

    jets = fastjet.ClusterSequence(inputs, jetdef).inclusive_jets(min_pt=JET_PT_MIN)
    p4 = ak.zip(
        {"px": jets["px"], "py": jets["py"], "pz": jets["pz"], "E": jets["E"]},
        with_name="Momentum4D",
    )
    p4 = p4[np.abs(p4.eta) < JET_ABS_ETA_MAX]
    mass = np.sqrt(np.maximum(p4.tau2, 0.0))
    return {"pt": p4.pt, "eta": p4.eta, "phi": p4.phi, "mass": mass}


def process_batch(batch: ak.Array, jetdef: Any) -> tuple[ak.Array, np.ndarray]:
    """Turn a ``nextBatch`` result (N events) into hepgen events for the kept ones.

    Returns:
        (events record of the kept events (K,), jet multiplicity of all N events (N,) int64);
        kept means MIN_JETS <= n_jets <= MAX_JETS. Muon charge is -sign(PDG id).
    """
    particles = flatten_batch(batch)
    muons = find_decay_muons(particles)
    jets = cluster_jets(jet_inputs(particles, muons), jetdef)
    n_jets = ak.to_numpy(ak.num(jets["pt"], axis=1)).astype(np.int64)
    keep = (n_jets >= MIN_JETS) & (n_jets <= MAX_JETS)
    mu = _momenta(particles, muons[keep])
    muon = {
        "pt": ak.Array(mu.pt),
        "eta": ak.Array(mu.eta),
        "phi": ak.Array(mu.phi),
        "charge": ak.Array(-np.sign(particles.pid[muons[keep]]).astype(np.int32)),
    }
    jet = {name: values[keep] for name, values in jets.items()}
    return build_events(muon, jet), n_jets


# --------------------------------------------------------------------------------------------
# One process: a stream of kept-event chunks
# --------------------------------------------------------------------------------------------


def simulate_chunks(
    n_events: int,
    seed: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    settings: Sequence[str] = REFERENCE_SETTINGS,
    counts: SimulationCounts | None = None,
) -> Iterator[ak.Array]:
    """Generate until ``n_events`` events are kept, in this process, yielding kept-event chunks.

    Args:
        n_events: kept events to produce.
        seed: the Pythia seed, 1..PYTHIA_SEED_MAX (see :func:`job_seed`).
        batch_size: events generated per ``nextBatch`` call.
        settings: Pythia physics settings.
        counts: if given, updated in place before each chunk is yielded; ``n_generated`` counts
            events up to the last kept one (the unused tail of the final batch is not counted).

    Yields:
        hepgen events arrays (see :mod:`hepgen.physics.events`), non-empty, summing to
        ``n_events``.
    """
    pythia = make_pythia(settings, seed)
    jetdef = make_jet_definition()
    counts = counts if counts is not None else SimulationCounts()
    missing = n_events
    while missing > 0:
        events, n_jets = process_batch(pythia.nextBatch(batch_size), jetdef)
        if len(events) > missing:  # truncate at the last needed kept event
            kept_at = np.flatnonzero((n_jets >= MIN_JETS) & (n_jets <= MAX_JETS))
            n_jets = n_jets[: kept_at[missing - 1] + 1]
            events = events[:missing]
        multiplicity = np.bincount(n_jets)
        counts.add(
            SimulationCounts(
                n_generated=len(n_jets),
                n_kept=len(events),
                n_jets_generated={n: int(c) for n, c in enumerate(multiplicity) if c},
            )
        )
        missing -= len(events)
        if len(events):
            yield events


def simulate_events(
    n_events: int,
    seed: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    settings: Sequence[str] = REFERENCE_SETTINGS,
) -> ak.Array:
    """``n_events`` kept events in memory from one process (Pythia seed ``job_seed(seed, 0)``)."""
    chunks = simulate_chunks(n_events, job_seed(seed, 0), batch_size, settings)
    return ak.concatenate(list(chunks))


# --------------------------------------------------------------------------------------------
# Several processes, output in job order
# --------------------------------------------------------------------------------------------


def _worker(job: int, seed: int, n_events: int, config: SimulationConfig, out: Any) -> None:
    """Worker process: send ``("chunk", job, events, counts)`` messages, then ``("done", job)``;
    on failure ``("error", job, traceback text)``."""
    try:
        counts = SimulationCounts()
        for events in simulate_chunks(n_events, seed, config.batch_size, config.settings, counts):
            out.put(("chunk", job, events, counts.take()))
        out.put(("chunk", job, None, counts.take()))  # batches after the last chunk, if any
        out.put(("done", job, None, None))
    except BaseException:  # noqa: B036 - report everything to the parent, then exit
        out.put(("error", job, traceback.format_exc(), None))


def _next_message(messages: Any, processes: list[Any], finished: set[int]) -> tuple:
    """The next worker message; raises if a worker died without reporting."""
    while True:
        try:
            return messages.get(timeout=WORKER_POLL_S)
        except queue_mod.Empty:
            for job, proc in enumerate(processes):
                if job not in finished and not proc.is_alive() and proc.exitcode != 0:
                    raise RuntimeError(
                        f"simulation job {job} died (exit code {proc.exitcode})"
                    ) from None


def _parallel_chunks(
    config: SimulationConfig,
    seeds: list[int],
    counts: SimulationCounts,
    progress_callback: ProgressCallback | None,
) -> Iterator[ak.Array]:
    """Run ``config.jobs`` worker processes and yield their chunks in job order.

    Chunks of job ``j`` are yielded as they arrive once jobs ``0..j-1`` are complete; until then
    they are held in memory (kept events are small: about 100 bytes each).
    """
    context = mp.get_context("spawn")
    messages = context.Queue()
    shares = job_shares(config.n_events, config.jobs)
    processes = [
        context.Process(
            target=_worker, args=(j, seeds[j], shares[j], config, messages), daemon=True
        )
        for j in range(config.jobs)
    ]
    held: list[deque[ak.Array]] = [deque() for _ in processes]
    finished: set[int] = set()
    try:
        for proc in processes:
            proc.start()
        current = 0
        while current < config.jobs:
            while held[current]:
                yield held[current].popleft()
            if current in finished:
                current += 1
                continue
            kind, job, payload, job_counts = _next_message(messages, processes, finished)
            if kind == "error":
                raise RuntimeError(f"simulation job {job} failed:\n{payload}")
            if kind == "done":
                finished.add(job)
                continue
            counts.add(job_counts)
            if payload is not None:
                if progress_callback is not None:
                    progress_callback(len(payload))
                held[job].append(payload)
        for proc in processes:
            proc.join()
    finally:
        for proc in processes:
            if proc.is_alive():
                proc.terminate()
                proc.join()


def _serial_chunks(
    config: SimulationConfig,
    seed: int,
    counts: SimulationCounts,
    progress_callback: ProgressCallback | None,
) -> Iterator[ak.Array]:
    """One job in this process (no subprocess start-up cost)."""
    chunks = simulate_chunks(config.n_events, seed, config.batch_size, config.settings, counts)
    for events in chunks:
        if progress_callback is not None:
            progress_callback(len(events))
        yield events


def iter_simulation(
    config: SimulationConfig,
    counts: SimulationCounts,
    progress_callback: ProgressCallback | None = None,
) -> Iterator[ak.Array]:
    """Kept-event chunks of a run in job order (reproducible for a given seed and job count).

    ``counts`` is updated in place; ``progress_callback(n)`` is called with each number of newly
    kept events, in arrival order.
    """
    seeds = [job_seed(config.seed, j) for j in range(config.jobs)]
    if config.jobs == 1:
        return _serial_chunks(config, seeds[0], counts, progress_callback)
    return _parallel_chunks(config, seeds, counts, progress_callback)


def rebatched(chunks: Iterator[ak.Array], min_events: int) -> Iterator[ak.Array]:
    """Concatenate consecutive chunks into chunks of at least ``min_events`` events (the last may
    be smaller); order and content are unchanged."""
    pending: list[ak.Array] = []
    n_pending = 0
    for chunk in chunks:
        pending.append(chunk)
        n_pending += len(chunk)
        if n_pending >= min_events:
            yield ak.concatenate(pending)
            pending, n_pending = [], 0
    if pending:
        yield ak.concatenate(pending)


def simulate(
    n_events: int,
    seed: int,
    jobs: int,
    out_path: str | os.PathLike[str],
    progress_callback: ProgressCallback | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    settings: Sequence[str] = REFERENCE_SETTINGS,
) -> SimulationResult:
    """Simulate ``n_events`` kept events with ``jobs`` processes and write them to ``out_path``.

    The file (NanoAOD TTree ``Events``, see :func:`hepgen.physics.io.write_events`) is written
    in chunks of WRITE_CHUNK_EVENTS events to a temporary name and renamed when complete.

    Args:
        n_events: kept events (1..3 jets) over all jobs.
        seed: master seed; job ``j`` runs Pythia with ``job_seed(seed, j)``.
        jobs: worker processes (1 runs in this process).
        out_path: output ``.root`` file; its directory must exist.
        progress_callback: called with the number of newly kept events as they arrive.
        batch_size: events per ``nextBatch`` call.
        settings: Pythia physics settings (default: the reference spec).
    """
    from hepgen.physics.io.writer import write_events

    config = SimulationConfig(n_events, seed, jobs, batch_size, tuple(settings))
    out = Path(out_path)
    if not out.parent.is_dir():
        raise HepgenInputError(f"{out}: output directory {out.parent} does not exist")
    counts = SimulationCounts()
    start = time.perf_counter()
    chunks = iter_simulation(config, counts, progress_callback)
    write_events(out, rebatched(chunks, WRITE_CHUNK_EVENTS))
    wall = time.perf_counter() - start
    seeds = [job_seed(seed, j) for j in range(jobs)]
    return SimulationResult(config, counts, wall, seeds, out)
