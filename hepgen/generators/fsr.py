"""Photon-jet splitting: the jets along a muon, generated after the rest of the event.

The generator models *core* events (:func:`hepgen.physics.dressing.dress`: a non-leading jet
within Delta R 0.2 of a muon added to that muon's momentum and removed). This module puts such
jets back, as a parton shower's FSR step would: for every core event with 1 or 2 jets

1. a classifier (:class:`SplitDecision`) gives p(no split | core), p(muon 1 radiates | core),
   p(muon 2 radiates | core) from reflection-invariant core features; the branch is drawn;
2. a small conditional INN (``inn`` family, :class:`PhotonJetSplitter.kinematics`) samples
   the jet's momentum fraction and direction relative to the dressed muon (4 features,
   :func:`~hepgen.physics.dressing.split_features`) given the dressed muon and leading jet;
3. splits that break the dressing rule (:func:`~hepgen.physics.dressing.split_is_valid`) are
   redrawn (kinematics only, so the branch probabilities stay those of step 1).

The density of the whole event is p(core) p(branch | core) p(kinematics | core, branch); the
event generator's feature-space log-probability does not include the split (it raises).
The standardisations are buffers, so a saved splitter is tensors only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import awkward as ak
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hepgen.generators.base import get
from hepgen.physics.dressing import (
    DECISION_FEATURES,
    DRESSING_RADIUS,
    SPLIT_CONDITIONS,
    SPLIT_FEATURES,
    Objects,
    Split,
    decision_features,
    dress,
    split_conditions,
    split_features,
    split_is_valid,
    split_jet,
    undress,
)
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import KINEMATIC_FIELDS

#: The splitter's defaults (config key ``fsr`` of ``hepgen train``); a config replaces keys.
FSR_DEFAULTS: dict[str, Any] = {
    "radius": DRESSING_RADIUS,
    # dress only where the dressed dimuon mass stays at most this [GeV] (None: always; the
    # generators before 2026-11-25 were trained so). 150: the generation window's upper edge
    "mll_max": None,
    "decision": {"hidden": 64, "n_layers": 2},
    "kinematics": {"n_blocks": 6, "kind": "spline", "hidden": 64, "n_layers": 2, "bins": 10,
                   "bound": 5.0},
    "decision_train": {"epochs": 30, "batch_size": 1024, "lr": 1e-3, "patience": 5},
    "kinematics_train": {"epochs": 300, "batch_size": 128, "lr": 1e-3, "patience": 40},
}
#: Rounds of draws for splits that break the dressing rule before leaving the event unsplit,
#: and the most candidate draws per event in one round (1, 2, 4, ... up to it): 8 rounds, up
#: to 79 draws per event.
MAX_SPLIT_ROUNDS = 8
SPLIT_CANDIDATES = 16
#: Fewest dressed training events the splitter trains on (the shipped file has 930).
MIN_SPLITS = 20


def fsr_config(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``config`` merged over :data:`FSR_DEFAULTS` (None or empty: no splitter); ValueError
    names an unknown key or a bad radius."""
    if not config:
        return None
    if not isinstance(config, Mapping):
        raise ValueError(f"fsr: expected an object of options, got {config!r}")
    unknown = set(config) - set(FSR_DEFAULTS)
    if unknown:
        raise ValueError(f"fsr: unknown key(s) {sorted(unknown)}; known: {sorted(FSR_DEFAULTS)}")
    merged = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in FSR_DEFAULTS.items()}
    for key, value in config.items():
        merged[key] = {**merged[key], **value} if isinstance(merged[key], dict) else value
    radius = merged["radius"]
    if isinstance(radius, bool) or not isinstance(radius, int | float) or not 0 < radius < 0.4:
        raise ValueError(f"fsr: 'radius' must be a number in (0, 0.4) (Delta R), got {radius!r}")
    mll_max = merged["mll_max"]
    if mll_max is not None and (isinstance(mll_max, bool) or not isinstance(mll_max, int | float)
                                or not mll_max > 0):
        raise ValueError(f"fsr: 'mll_max' must be null or a mass > 0 in GeV, got {mll_max!r}")
    return merged


def _mirrored(x: np.ndarray) -> np.ndarray:
    """Split features (N, 4) under the phi reflection (dphi -> -dphi; the rest is invariant)."""
    out = x.copy()
    out[:, SPLIT_FEATURES.index("dphi")] *= -1.0
    return out


class _Standard(nn.Module):
    """Per-column standardisation kept as buffers (mean, std), fitted on training rows."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("std", torch.ones(width))

    def fit(self, values: np.ndarray) -> None:
        std = values.std(axis=0)
        self.mean.copy_(torch.as_tensor(values.mean(axis=0)))
        self.std.copy_(torch.as_tensor(np.where(std > 0, std, 1.0)))

    def forward(self, values: np.ndarray) -> Tensor:
        """Standardised float32 (N, width) of float64 ``values`` (N, width)."""
        return ((torch.as_tensor(values, dtype=torch.float64) - self.mean.double())
                / self.std.double()).float()

    def inverse(self, x: Tensor) -> np.ndarray:
        """float64 (N, width) values of standardised ``x`` (N, width)."""
        return (x.double() * self.std.double() + self.mean.double()).numpy()


class SplitDecision(nn.Module):
    """Classifier p(branch | core) over 3 branches (none, muon 1, muon 2); trained with the
    cross-entropy by :class:`hepgen.training.trainer.Trainer` (``x``: branch (N, 1) as float,
    ``c``: standardised decision features (N, 11))."""

    def __init__(self, n_features: int, hidden: int = 64, n_layers: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for _ in range(int(n_layers)):
            layers += [nn.Linear(width, int(hidden)), nn.SiLU()]
            width = int(hidden)
        self.net = nn.Sequential(*layers, nn.Linear(width, 3))

    def forward(self, c: Tensor) -> Tensor:
        """Logits (N, 3)."""
        return self.net(c)

    def loss(self, x: Tensor, c: Tensor, weights: Tensor | None = None) -> Tensor:
        per_event = F.cross_entropy(self(c), x[:, 0].long(), reduction="none")
        return (per_event * weights).mean() if weights is not None else per_event.mean()

    def n_train_hint(self, n_train: int) -> None:
        """The Trainer's hook for Bayesian families; nothing to do here."""

    def execution_budget(self, n_train: int, n_val: int) -> None:
        """No cost on external hardware (``hepgen train`` asks every unit)."""
        return None


class PhotonJetSplitter(nn.Module):
    """Branch classifier + conditional INN of the split kinematics (see the module docstring).

    Args:
        config: :func:`fsr_config` output (radius, decision and kinematics options).
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        self.radius = float(config["radius"])
        mll_max = config.get("mll_max")
        self.mll_max = None if mll_max is None else float(mll_max)
        self.decision = SplitDecision(len(DECISION_FEATURES), **config["decision"])
        self.kinematics = get("inn")(len(SPLIT_FEATURES), len(SPLIT_CONDITIONS),
                                     config["kinematics"])
        self.decision_scale = _Standard(len(DECISION_FEATURES))
        self.feature_scale = _Standard(len(SPLIT_FEATURES))
        self.condition_scale = _Standard(len(SPLIT_CONDITIONS))

    # --- training data ------------------------------------------------------------------
    def dress(self, events: ak.Array) -> tuple[ak.Array, Split]:
        """Core events and splits of ``events`` by this splitter's dressing rule (radius and
        ``mll_max``; :func:`~hepgen.physics.dressing.dress`)."""
        return dress(events, self.radius, self.mll_max)

    @staticmethod
    def eligible(core: ak.Array | Objects) -> np.ndarray:
        """Core events that may split (1 or 2 jets: the split jet is the third at most)."""
        return Objects.of(core).n_jets <= 2

    def fit(self, core: ak.Array, split: Split) -> None:
        """Fit the standardisations on the training core events and their splits;
        HepgenInputError with fewer than :data:`MIN_SPLITS` dressed events."""
        n_splits = int(split.mask.sum())
        if n_splits < MIN_SPLITS:
            raise HepgenInputError(
                f"fsr: only {n_splits} training event(s) have a non-leading jet within Delta R "
                f"{self.radius:g} of a muon; photon-jet splitting needs at least {MIN_SPLITS} "
                "(remove 'fsr' from the config, or train on more events)")
        core = Objects.of(core)
        ok = self.eligible(core)
        self.decision_scale.fit(decision_features(core[ok]))
        x, c = self._split_arrays(core, split)
        self.feature_scale.fit(x)
        self.condition_scale.fit(c)

    @staticmethod
    def _split_arrays(core: ak.Array | Objects, split: Split) -> tuple[np.ndarray, np.ndarray]:
        core, rows = Objects.of(core), split.mask
        jet = {f: v[rows] for f, v in split.jet.items()}
        return (split_features(core[rows], split.muon[rows], jet),
                split_conditions(core[rows], split.muon[rows]))

    def decision_data(self, core: ak.Array, split: Split) -> tuple[Tensor, Tensor]:
        """(branch (N, 1) float, standardised features (N, 11)) of the eligible core events."""
        core = Objects.of(core)
        ok = self.eligible(core)
        label = torch.as_tensor(split.muon[ok] + 1, dtype=torch.float32)[:, None]
        return label, self.decision_scale(decision_features(core[ok]))

    def kinematics_data(self, core: ak.Array, split: Split
                        ) -> tuple[Tensor, Tensor, list[tuple[Tensor, Tensor]]]:
        """Standardised (x (M, 4), c (M, 4)) of the splits, and the phi-reflected copy as the
        Trainer's augmentation variant (dphi -> -dphi; the other columns are invariant)."""
        x, c = self._split_arrays(core, split)
        cs = self.condition_scale(c)
        return self.feature_scale(x), cs, [(self.feature_scale(_mirrored(x)), cs)]

    # --- density --------------------------------------------------------------------------
    @torch.no_grad()
    def _branch_log_probs(self, core: Objects) -> tuple[np.ndarray, np.ndarray]:
        """(indices (M,) of the cores that may split, their log p(none, muon 1, muon 2) (M, 3))."""
        ok = np.nonzero(self.eligible(core))[0]
        logits = self.decision(self.decision_scale(decision_features(core[ok])))
        return ok, torch.log_softmax(logits.double(), dim=-1).numpy()

    def log_branch(self, core: ak.Array | Objects, muon: np.ndarray) -> np.ndarray:
        """log p(branch | core) (N,) of the branches ``muon`` (N,) (-1: no split); 0 for cores
        that cannot split (3 jets, whose branch is always -1)."""
        core = Objects.of(core)
        out = np.zeros(len(core))
        ok, log_p = self._branch_log_probs(core)
        out[ok] = log_p[np.arange(len(ok)), muon[ok] + 1]
        return out

    @torch.no_grad()
    def log_kinematics(self, core: ak.Array, muon: np.ndarray, jet: dict[str, np.ndarray]
                       ) -> np.ndarray:
        """log density (N,) of the split features (raw units, :func:`split_features`) of jets
        ``jet`` off muon ``muon`` of ``core``: the phi-symmetrised flow the sampler draws from,
        without the renormalisation for redrawn invalid splits."""
        x = split_features(core, muon, jet)
        c = self.condition_scale(split_conditions(core, muon))
        log_p = [self.kinematics.log_prob(self.feature_scale(v), c).double().numpy()
                 for v in (x, _mirrored(x))]
        log_scale = float(torch.log(self.feature_scale.std.double()).sum())
        return np.logaddexp(*log_p) - np.log(2.0) - log_scale

    # --- sampling -------------------------------------------------------------------------
    def branch(self, core: ak.Array | Objects, rng: np.random.Generator) -> np.ndarray:
        """Drawn branch per core event (N,): -1 no split, 0 / 1 the radiating core muon."""
        core = Objects.of(core)
        out = np.full(len(core), -1, dtype=np.int64)
        ok, log_p = self._branch_log_probs(core)
        cum = np.exp(log_p).cumsum(axis=-1)
        u = rng.random(len(ok))[:, None]
        out[ok] = (u > cum[:, :2]).sum(axis=1) - 1
        return out

    @torch.no_grad()
    def split(self, core: ak.Array, gen: torch.Generator, rng: np.random.Generator
              ) -> tuple[ak.Array, int]:
        """Events from core events: branches drawn, split jets sampled and put back. Each
        splitting event takes the first valid draw of a sequence of independent draws (the
        rejection sampling of the dressing rule), drawn in rounds of 1, 2, 4, ... up to
        :data:`SPLIT_CANDIDATES` candidates per event; events without a valid draw after
        :data:`MAX_SPLIT_ROUNDS` rounds are left unsplit. The unsplit events come first, then
        the split ones (:meth:`EventGenerator.sample_events` shuffles). Returns the events and
        the number of rejected draws."""
        record = core if isinstance(core, ak.Array) else core.record()
        core = Objects.of(core)
        muon = self.branch(core, rng)
        jet = {f: np.full(len(core), np.nan) for f in KINEMATIC_FIELDS}
        todo, rejected, width = np.nonzero(muon >= 0)[0], 0, 1
        for _ in range(MAX_SPLIT_ROUNDS):
            if not len(todo):
                break
            rows = np.repeat(todo, width)  # width candidates per event, adjacent
            sub = core[rows]
            c = self.condition_scale(split_conditions(sub, muon[rows]))
            x = self.feature_scale.inverse(self.kinematics.sample(len(rows), c, gen))
            flip = rng.random(len(rows)) < 0.5  # the phi reflection (see kinematics_data)
            x[flip] = _mirrored(x[flip])
            drawn = split_jet(sub, muon[rows], x)
            good = split_is_valid(sub, Split(muon[rows], drawn), self.radius, self.mll_max)
            good = (good & np.isfinite(x).all(axis=1)).reshape(len(todo), width)
            found = good.any(axis=1)
            first = np.argmax(good, axis=1)  # the first valid candidate of each event
            pick = (np.arange(len(todo)) * width + first)[found]
            for f in jet:
                jet[f][todo[found]] = drawn[f][pick]
            rejected += int(first[found].sum()) + width * int((~found).sum())
            todo = todo[~found]
            width = min(2 * width, SPLIT_CANDIDATES)
        muon[todo] = -1  # no valid draw: left unsplit
        rows = muon >= 0
        if not rows.any():
            return record, rejected
        split = Split(muon[rows], {f: v[rows] for f, v in jet.items()})
        return ak.concatenate([record[~rows], undress(core[rows], split)]), rejected
