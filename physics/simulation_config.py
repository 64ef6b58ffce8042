"""Run configuration and bookkeeping of the reference simulation ``zjets-13tev``.

The Pythia settings of the reference data set (:data:`REFERENCE_SETTINGS`, the spec in
``design.md``, "The reference data set": pp at 13 TeV with Pythia 8 defaults (Monash tune), hard
process ``WeakBosonAndParton:qqbar2gmZg`` and ``qg2gmZq`` with pT-hat >
:data:`~hepgen.physics.constants.PTHAT_MIN`, Z/gamma* -> mu+ mu- only with m in
[:data:`MLL_MIN`, :data:`MLL_MAX`] GeV), a run's :class:`SimulationConfig`, the per-job Pythia
seeds and event shares (job ``j``'s seed is derived from ``(seed, j)`` and produces a fixed share
of the kept events), the event counts of a run (:class:`SimulationCounts`) and its outcome
(:class:`SimulationResult`). Nothing here needs ``pythia8mc`` or ``fastjet``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hepgen.physics.constants import (
    MAX_JETS,
    MIN_JETS,
    MLL_MAX,
    MLL_MIN,
    PDG_MUON,
    PDG_Z,
    PTHAT_MIN,
    SQRT_S,
)
from hepgen.physics.errors import HepgenInputError

if TYPE_CHECKING:  # awkward and vector load with hepgen.physics.events: only when counting
    from hepgen.physics.events import SelectionReport

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
#: Pythia accepts ``Random:seed`` in 1..PYTHIA_SEED_MAX for an explicit seed.
PYTHIA_SEED_MAX: int = 900_000_000
#: Events generated per ``nextBatch`` call (about half are kept); sets the chunk size.
DEFAULT_BATCH_SIZE: int = 200

ProgressCallback = Callable[[int], None]


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
        from hepgen.physics.events import SelectionReport

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
