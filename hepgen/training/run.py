"""Train an event generator end to end: preprocessing, one feature model per multiplicity,
optional discriminator coupling, checkpoints, resume, final save.

Run directory layout::

    RUN_DIR/generator.json, weights.pt   the trained generator (EventGenerator.load)
    RUN_DIR/run.json                     the full configuration and per-epoch history
    RUN_DIR/j<n>/checkpoint.pt           per-multiplicity checkpoint (every epoch, atomic)
    RUN_DIR/j<n>/done.pt                 written when multiplicity n has finished

``resume=True`` skips finished multiplicities and continues the current one from its
checkpoint; the result equals an uninterrupted run (seeded per multiplicity and epoch).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import torch

from hepgen._version import __version__
from hepgen.generators.base import get
from hepgen.generators.chain import stage_data
from hepgen.generators.event import (
    MULTIPLICITIES,
    MULTIPLICITY_MODELS,
    EventGenerator,
    check_ensemble,
    load_tensors,
)
from hepgen.generators.fsr import fsr_config
from hepgen.generators.names import STRATEGIES
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.io.atomic import atomic_write, atomic_write_text
from hepgen.physics.preprocessing import split_by_multiplicity
from hepgen.physics.representations import REPRESENTATIONS
from hepgen.physics.symmetries import check_symmetries, group_elements, reflect
from hepgen.training.discflow import DiscFlowConfig, DiscFlowStrategy
from hepgen.training.trainer import CHECKPOINT_NAME, EpochRecord, TrainConfig, Trainer

RUN_NAME = "run.json"


def family_of(model: str, base: str) -> str:
    """The generator family a run trains: ``model``, or ``base`` for a strategy (discflow)."""
    return base if model in STRATEGIES else model


@dataclass
class RunConfig:
    """What ``hepgen train`` trains: the content of a ``--config`` JSON file.

    ``model`` is a registered family (``inn``, ``binn``, ...) or ``discflow``, which trains
    ``base`` (``inn`` or ``binn``) with discriminator coupling configured by ``discflow``.
    """

    model: str = "inn"
    base: str = "inn"
    model_config: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    discflow: dict[str, Any] = field(default_factory=dict)
    #: jet multiplicities to model (e.g. [1] for Z + 1 jet only); fractions renormalised
    jets: list[int] = field(default_factory=lambda: list(MULTIPLICITIES))
    #: "separate" (one network per multiplicity) or "chain" (autoregressive stages)
    multiplicity: str = "separate"
    #: event representation: "particles" (pT, eta, phi, m per object) or "recoil"
    representation: str = "particles"
    #: chain only: {"<stage>": {model_config options}} replacing model_config for that stage
    stage_model_config: dict[str, Any] = field(default_factory=dict)
    #: {"<k>": {train options}} replacing ``train`` options for chain stage k (or, with
    #: separate networks, multiplicity k): e.g. more epochs for the stages with fewer events
    stage_train: dict[str, Any] = field(default_factory=dict)
    #: reflections (hepgen.physics.symmetries) that symmetrise the samples of the trained
    #: generator: each applied to a random half of the generated events
    symmetrize: list[str] = field(default_factory=list)
    #: {"<k>": K}: chain stage k (or multiplicity k) is an equal-weight mixture of K networks
    #: trained independently (hepgen.generators.mixture); member i trains with seed + 10007 i
    ensemble: dict[str, int] = field(default_factory=dict)
    #: photon-jet splitter (hepgen.generators.fsr): {} none; options over FSR_DEFAULTS
    fsr: dict[str, Any] = field(default_factory=dict)

    @property
    def family(self) -> str:
        return family_of(self.model, self.base)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config") -> RunConfig:
        known = {"model", "base", "model_config", "train", "discflow", "jets", "multiplicity",
                 "representation", "stage_model_config", "stage_train", "symmetrize",
                 "ensemble", "fsr", "description"}
        unknown = set(data) - known
        if unknown:
            raise HepgenInputError(f"{source}: unknown key(s) {sorted(unknown)}; known: "
                                   f"{sorted(known)}")
        cfg = cls(**{k: v for k, v in data.items() if k != "description"})
        cfg.validate(source)
        return cfg

    def validate(self, source: str = "config") -> None:
        try:
            get(self.family)
        except KeyError as err:
            raise HepgenInputError(f"{source}: {err.args[0]}") from None
        jets = self.jets
        if (not isinstance(jets, list) or not jets or len(set(jets)) != len(jets)
                or any(j not in MULTIPLICITIES for j in jets)):
            raise HepgenInputError(f"{source}: 'jets' must be a list of distinct jet counts from "
                                   f"{list(MULTIPLICITIES)}, got {jets!r}")
        self.jets = sorted(int(j) for j in jets)
        if self.multiplicity not in MULTIPLICITY_MODELS:
            raise HepgenInputError(f"{source}: 'multiplicity' must be one of "
                                   f"{list(MULTIPLICITY_MODELS)}, got {self.multiplicity!r}")
        if self.representation not in REPRESENTATIONS:
            raise HepgenInputError(f"{source}: 'representation' must be one of "
                                   f"{sorted(REPRESENTATIONS)}, got {self.representation!r}")
        if self.multiplicity == "chain" and self.model in STRATEGIES:
            raise HepgenInputError(f"{source}: '{self.model}' trains one network per "
                                   "multiplicity; use \"multiplicity\": \"separate\"")
        if self.model in STRATEGIES and self.base in STRATEGIES:
            raise HepgenInputError(f"{source}: 'base' must be a generator family, not "
                                   f"{self.base!r}")
        try:  # build once on a small size: unknown or invalid model_config options fail here
            get(self.family)(9, 0, self.model_config)
        except (ValueError, TypeError) as err:
            raise HepgenInputError(f"{source}: 'model_config': {err}") from None
        self._validate_stage_config(source)
        for key, cls in (("train", TrainConfig), ("discflow", DiscFlowConfig)):
            unknown = set(getattr(self, key)) - set(cls.__dataclass_fields__)
            if unknown:
                raise HepgenInputError(f"{source}: unknown '{key}' option(s) {sorted(unknown)}; "
                                       f"known: {sorted(cls.__dataclass_fields__)}")
        self._validate_stage_train(source)
        self._validate_ensemble(source)
        self._validate_fsr(source)
        try:
            check_symmetries(self.symmetrize, "symmetrize")
        except (ValueError, TypeError) as err:
            raise HepgenInputError(f"{source}: {err}") from None
        for k in [None, *sorted(self.stage_train)]:
            try:
                check_symmetries(self.train_config_of(k).augment, "augment")
            except (ValueError, TypeError) as err:
                where = f"'stage_train' {k}" if k else "'train'"
                raise HepgenInputError(f"{source}: {where}: {err}") from None

    def _validate_stage_train(self, source: str) -> None:
        stages = self.stage_train
        if not isinstance(stages, dict):
            raise HepgenInputError(f"{source}: 'stage_train' must be an object, got {stages!r}")
        known = ({str(k) for k in range(1, max(self.jets) + 1)} if self.multiplicity == "chain"
                 else {str(n) for n in self.jets})
        what = "chain stages" if self.multiplicity == "chain" else "jet multiplicities"
        if not set(stages) <= known:
            raise HepgenInputError(f"{source}: 'stage_train' keys must be {what} "
                                   f"{sorted(known)}, got {sorted(stages)}")
        allowed = set(TrainConfig.__dataclass_fields__) - {"seed"}
        for k, options in stages.items():
            unknown = set(options) - allowed if isinstance(options, dict) else {"(not an object)"}
            if unknown:
                raise HepgenInputError(f"{source}: 'stage_train' {k}: unknown option(s) "
                                       f"{sorted(unknown)}; known: {sorted(allowed)}")

    def _validate_ensemble(self, source: str) -> None:
        if not self.ensemble:
            return
        if self.model in STRATEGIES:
            raise HepgenInputError(f"{source}: 'ensemble' does not combine with "
                                   f"'{self.model}' (one discriminator per network)")
        indices = (set(range(1, max(self.jets) + 1)) if self.multiplicity == "chain"
                   else set(self.jets))
        try:
            self.ensemble = check_ensemble(self.ensemble, indices)
        except ValueError as err:
            raise HepgenInputError(f"{source}: {err}") from None

    def _validate_fsr(self, source: str) -> None:
        if not self.fsr:
            return
        if self.model in STRATEGIES:
            raise HepgenInputError(f"{source}: 'fsr' does not combine with '{self.model}'")
        try:
            merged = fsr_config(self.fsr)
            for key in ("decision_train", "kinematics_train"):
                TrainConfig(**merged[key])
        except (ValueError, TypeError) as err:
            raise HepgenInputError(f"{source}: {err}") from None

    def train_config_of(self, index: int | str | None = None, seed: int = 0) -> TrainConfig:
        """The training options of chain stage (or multiplicity) ``index``: ``train`` updated by
        ``stage_train["index"]``; None gives ``train`` alone."""
        stage = self.stage_train.get(str(index), {}) if index is not None else {}
        return TrainConfig(**{**self.train, **stage, "seed": seed})

    def _validate_stage_config(self, source: str) -> None:
        stages = self.stage_model_config
        if not stages:
            return
        if self.multiplicity != "chain":
            raise HepgenInputError(f"{source}: 'stage_model_config' needs \"multiplicity\": "
                                   "\"chain\"")
        known = {str(k) for k in range(1, max(self.jets) + 1)}
        if not isinstance(stages, dict) or not set(stages) <= known:
            raise HepgenInputError(f"{source}: 'stage_model_config' keys must be chain stages "
                                   f"{sorted(known)}, got {stages!r}")
        for k, options in stages.items():
            try:
                get(self.family)(9, 0, {**self.model_config, **options})
            except (ValueError, TypeError) as err:
                raise HepgenInputError(f"{source}: 'stage_model_config' stage {k}: {err}") from None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "base": self.base, "model_config": self.model_config,
                "train": self.train, "discflow": self.discflow, "jets": self.jets,
                "multiplicity": self.multiplicity, "representation": self.representation,
                "stage_model_config": self.stage_model_config, "stage_train": self.stage_train,
                "symmetrize": self.symmetrize, "ensemble": self.ensemble, "fsr": self.fsr}


def file_digest(path: str | Path) -> str:
    """sha256 of a file (hex), to record which data a generator was trained on."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class TrainingUnit:
    """One separately trained network of a generator, with its training data.

    Attributes:
        name: run sub-directory and label: ``j<n>`` (one network per multiplicity) or
            ``chain<k>`` (stage k of the multiplicity chain); ``<name>_m<i>`` for member i > 0
            of an ensemble.
        index: n or k; seeds the unit's training.
        member: place in the ensemble of network ``index`` (0 without one); seeds it too.
        n_jets: the multiplicity of a ``j<n>`` unit, None for a chain stage.
        model: the network.
        x, c: training features (N, D) and conditions (N, C) or None.
        train: the unit's training options (``train`` with its ``stage_train`` entry).
    """

    name: str
    index: int
    n_jets: int | None
    model: Any
    x: torch.Tensor
    c: torch.Tensor | None
    train: TrainConfig = field(default_factory=TrainConfig)
    member: int = 0
    #: augmentation copies (x', c') of the unit's own (photon-jet splitter units); None:
    #: the reflections of ``train.augment``
    variants: list[tuple[torch.Tensor, torch.Tensor | None]] | None = None

    @property
    def history_key(self) -> str:
        """Key of the unit's loss history in run.json: ``"<n>"`` or ``"chain<k>"`` (the
        unit's name for further ensemble members)."""
        return str(self.n_jets) if self.n_jets is not None and not self.member else self.name

    @property
    def progress_key(self) -> int | str:
        """What ``on_epoch`` receives: n, or the unit's name (``"chain<k>"``, members)."""
        return self.n_jets if self.n_jets is not None and not self.member else self.name


def unit_data(generator: EventGenerator, features: dict[int, torch.Tensor], index: int
              ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(x, c) of the network ``index`` (chain stage or multiplicity) from per-multiplicity
    features."""
    if generator.multiplicity_model == "chain":
        return stage_data(index, features)
    return features[index], None


def training_units(generator: EventGenerator, features: dict[int, torch.Tensor],
                   config: RunConfig | None = None, seed: int = 0) -> list[TrainingUnit]:
    """Every network of ``generator`` with its data and training options (from ``config``;
    defaults without), from the per-multiplicity features."""
    config = config or RunConfig()
    chain = generator.multiplicity_model == "chain"
    return [TrainingUnit(name, i, None if chain else i, model, *unit_data(generator, features, i),
                         config.train_config_of(i, member_seed(seed, member)), member)
            for name, i, member, model in generator.training_networks()]


#: Seeding indices of the photon-jet splitter's units (after any chain stage or multiplicity).
FSR_UNITS = {"fsr_decision": 91, "fsr_kinematics": 92}


def fsr_units(generator: EventGenerator, events: ak.Array, seed: int = 0) -> list[TrainingUnit]:
    """The photon-jet splitter's two units (branch classifier, split kinematics) with their
    data from the training ``events``; none without a splitter."""
    if generator.fsr is None:
        return []
    core, split = generator.dressed(events)
    options = generator.fsr_config
    label, features = generator.fsr.decision_data(core, split)
    x, c, mirrored = generator.fsr.kinematics_data(core, split)
    return [
        TrainingUnit("fsr_decision", FSR_UNITS["fsr_decision"], None, generator.fsr.decision,
                     label, features, TrainConfig(**{**options["decision_train"], "seed": seed}),
                     variants=[]),
        TrainingUnit("fsr_kinematics", FSR_UNITS["fsr_kinematics"], None,
                     generator.fsr.kinematics, x, c,
                     TrainConfig(**{**options["kinematics_train"], "seed": seed}),
                     variants=mirrored),
    ]


#: file of a finished training unit in its directory (``--resume`` skips the unit)
DONE_NAME = "done.pt"


def write_finished_unit(unit_dir: str | Path, model: torch.nn.Module,
                        disc: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
    """Write ``unit_dir/done.pt`` (atomically): the unit's network (and DiscFlow
    discriminator), so ``train_generator(resume=True)`` takes it as trained. Also how a study
    puts networks of a saved generator into a new run. Returns the saved tensors."""
    saved = {f"model.{k}": v for k, v in model.state_dict().items()}
    if disc is not None:
        saved.update({f"disc.{k}": v for k, v in disc.state_dict().items()})
    Path(unit_dir).mkdir(parents=True, exist_ok=True)
    atomic_write(Path(unit_dir) / DONE_NAME, lambda f: torch.save(saved, f), binary=True)
    return saved


def member_seed(seed: int, member: int) -> int:
    """The training seed of ensemble member ``member`` of a run with ``seed`` (member 0:
    ``seed``, so its network is the one a run without the ensemble trains)."""
    return seed + 10_007 * member


class _ReflectedFeatures:
    """Features of the training events under each reflection, computed once when needed."""

    def __init__(self, generator: EventGenerator, events: ak.Array) -> None:
        self.generator, self.events = generator, events
        self.cache: dict[tuple[str, ...], dict[int, torch.Tensor]] = {}

    def variants(self, unit: TrainingUnit) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """(x, c) of ``unit`` for every non-identity element of its ``augment`` group."""
        out = []
        for element in group_elements(unit.train.augment):
            if element not in self.cache:
                self.cache[element] = self.generator.features(reflect(self.events, element))
            out.append(unit_data(self.generator, self.cache[element], unit.index))
        return out


def train_generator(
    events: ak.Array,
    config: RunConfig,
    run_dir: str | Path,
    *,
    seed: int = 0,
    device: str = "cpu",
    resume: bool = False,
    data_info: Mapping[str, Any] | None = None,
    on_epoch: Callable[[int | str, EpochRecord, int], None] | None = None,
    on_plan: Callable[[list[TrainingUnit], TrainConfig], None] | None = None,
) -> EventGenerator:
    """Train on ``events`` (1-3 jets) and save the generator into ``run_dir``.

    ``on_plan(units, train_config)`` is called once before any training (e.g. to print what the
    run will cost); ``on_epoch(unit, record, total_epochs)`` reports progress (``unit``: the
    multiplicity n, or ``"chain<k>"`` for a stage of the chain). Returns the trained generator.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    train_cfg = config.train_config_of(None, seed)
    torch.manual_seed(seed)
    generator = EventGenerator(config.family, config.model_config, tuple(config.jets),
                               config.multiplicity, config.representation,
                               config.stage_model_config, tuple(config.symmetrize),
                               config.ensemble, config.fsr)
    features = generator.fit_preprocessing(events)
    by_n = split_by_multiplicity(events) if config.model == "discflow" else {}
    history: dict[str, list[dict[str, float]]] = {}
    disc_state: dict[str, torch.Tensor] = {}
    start = time.perf_counter()
    units = training_units(generator, features, config, seed)
    units += fsr_units(generator, events, seed)
    reflected = _ReflectedFeatures(generator, events)
    if on_plan is not None:
        on_plan(units, train_cfg)
    for unit in units:
        model, key = unit.model, unit.history_key
        sub = run_dir / unit.name
        done = sub / DONE_NAME
        strategy = None
        if config.model == "discflow":  # RunConfig allows it with separate networks only
            dcfg = DiscFlowConfig(**{**config.discflow, "seed": seed})
            strategy = DiscFlowStrategy(generator, unit.index, by_n[unit.index], dcfg)
        if resume and done.exists():
            saved = load_tensors(done)
            checkpoint = sub / CHECKPOINT_NAME
            if checkpoint.exists():  # the loss history of the finished unit
                payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
                history[key] = list(payload["history"])
                if strategy is not None and payload.get("strategy"):
                    strategy.history = list(payload["strategy"].get("history", []))
            model.load_state_dict({k[6:]: v for k, v in saved.items() if k.startswith("model.")})
            if strategy is not None:
                strategy.disc.load_state_dict(
                    {k[5:]: v for k, v in saved.items() if k.startswith("disc.")})
        else:
            torch.manual_seed(unit.train.seed * 1000 + unit.index)
            trainer = Trainer(model, unit.train, sub, device=device, strategy=strategy)
            callback = ((lambda rec, u=unit: on_epoch(u.progress_key, rec, u.train.epochs))
                        if on_epoch else None)
            trainer.fit(unit.x, unit.c, resume=resume and trainer.checkpoint_path.exists(),
                        on_epoch=callback,
                        variants=(unit.variants if unit.variants is not None
                                  else reflected.variants(unit)))
            model.to("cpu")
            saved = write_finished_unit(sub, model, strategy.disc if strategy else None)
            history[key] = [vars(r) for r in trainer.state.history]
        if strategy is not None:
            disc = strategy.disc.state_dict()
            disc_state.update({f"disc{unit.index}.{k}": v for k, v in disc.items()})
            history.setdefault(f"disc{unit.index}", strategy.history)
    generator.meta = {
        "model": config.model,
        "train_seconds": time.perf_counter() - start,
        "seed": seed,
        "data": dict(data_info or {}),
        "run_config": config.to_dict(),
        "train_config": train_cfg.to_dict(),
        "stage_train_config": {unit.name: unit.train.to_dict() for unit in units
                               if unit.train != train_cfg},
        "hepgen_version": __version__,
    }
    if config.model == "discflow":
        generator.meta["discflow"] = {
            "observables": {str(n): DiscFlowStrategy.observables_for(n)
                            for n in generator.multiplicities},
            "config": DiscFlowConfig(**{**config.discflow, "seed": seed}).to_dict(),
        }
    generator.save(run_dir, extra=disc_state)
    text = json.dumps({"meta": generator.meta, "history": history}, indent=1)
    atomic_write_text(run_dir / RUN_NAME, text)
    return generator
