"""Event-level generator: one feature model per jet multiplicity, with its preprocessing.

Multiplicity handling (design.md, "Event representation"), two options, n drawn from the
training fractions in both:

* ``separate``: one network per jet multiplicity n = 1, 2, 3 on the events with exactly n jets;
* ``chain``: the autoregressive chain of arXiv 2110.13632 (:mod:`hepgen.generators.chain`):
  mu mu j1 given the one-hot n from all events, j2 given mu mu j1, j3 given mu mu j1 j2.

Decided by measurement (benchmarks/RESULTS.md, "Generators"): with the same INN (configs/inn.json,
30 epochs, seed 0) and training time (15.0 vs 15.3 min), the chain gave classifier AUCs
0.610 / 0.775 / 0.844 for 1 / 2 / 3 jets against 0.615 / 0.830 / 0.966 with separate networks:
the 2- and 3-jet models learn their muons and leading jet from all events instead of 25 % and 5 %
of them. The shipped default uses the chain; ``separate`` stays for DiscFlow (one discriminator
per multiplicity network) and for per-multiplicity studies.

A saved generator is a directory with two files, neither of which can execute code on load:

* ``generator.json`` — family, feature-model config, fractions, fitted preprocessing of each
  multiplicity, training metadata;
* ``weights.pt`` — tensors only, loaded with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import torch
from torch import Tensor, nn

from hepgen._version import __version__
from hepgen.generators.base import FeatureModel, get
from hepgen.generators.chain import ChainView, posterior_views, stage_dims
from hepgen.generators.fsr import PhotonJetSplitter, fsr_config
from hepgen.generators.mixture import MixtureModel
from hepgen.physics.constants import MAX_JETS, MIN_JETS
from hepgen.physics.dressing import Split, split_log_jacobian
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import in_reference_phase_space
from hepgen.physics.io.atomic import atomic_write, atomic_write_text
from hepgen.physics.preprocessing import EventPreprocessor, split_by_multiplicity
from hepgen.physics.representations import (
    REPRESENTATIONS,
    make_preprocessor,
    preprocessor_from_state,
)
from hepgen.physics.symmetries import (
    check_symmetries,
    group_elements,
    reflect,
    reflect_at_random,
)

FORMAT = "hepgen-generator"
VERSION = 1
CONFIG_NAME = "generator.json"
WEIGHTS_NAME = "weights.pt"
MULTIPLICITIES = tuple(range(MIN_JETS, MAX_JETS + 1))
#: Give up on a chunk when this many rejection rounds still leave out-of-domain events.
MAX_REJECTION_ROUNDS = 50
#: Sampled standardised features beyond this many standard deviations are dropped as far tails.
MAX_STANDARDISED = 50.0
#: How jet multiplicities are modelled: one network each, or the autoregressive chain.
MULTIPLICITY_MODELS = ("separate", "chain")


class EventGenerator(nn.Module):
    """Z(->mu mu) + n jets generator: ``models[str(n)]`` is the feature model of n jets.

    Args:
        family: registry name of the feature model (``inn``, ``binn``, ...).
        model_config: the feature model's config (JSON-serialisable).
        multiplicities: jet counts to model, default 1, 2, 3.
        multiplicity_model: ``separate`` (``models[str(n)]``: one network per multiplicity) or
            ``chain`` (``models["chain<k>"]``: the stages of :mod:`hepgen.generators.chain`).
        representation: event <-> feature map, ``particles`` or ``recoil``
            (:mod:`hepgen.physics.representations`).
        stage_model_config: chain only: ``{"<k>": {...}}`` entries replacing ``model_config``
            options for stage k (e.g. a smaller network for the 2- and 3-jet stages, which see
            25 % and 5 % of the events); the config key of the same name in ``hepgen train``.
        symmetries: reflections (:mod:`hepgen.physics.symmetries`) applied to a random half of
            the sampled events each: the samples are symmetrised over that group (config key
            ``symmetrize``); empty: the network's samples as they are.
        ensemble: ``{"<k>": K}``: the network of chain stage k (or, with separate networks,
            of multiplicity k) is an equal-weight mixture of K independently trained members
            (:class:`~hepgen.generators.mixture.MixtureModel`); member i > 0 has the fixed
            rotations of ``seed`` + i. Omitted keys: one network.
        fsr: options of the photon-jet splitter (:mod:`hepgen.generators.fsr`, config key
            ``fsr``; defaults :data:`~hepgen.generators.fsr.FSR_DEFAULTS`): the networks then
            model core events (a non-leading jet within Delta R ``radius`` of a muon dressed
            into it, :mod:`hepgen.physics.dressing`) and the splitter puts such jets back.
            None or empty: no splitting.
    """

    def __init__(
        self,
        family: str,
        model_config: Mapping[str, Any],
        multiplicities: tuple[int, ...] = MULTIPLICITIES,
        multiplicity_model: str = "separate",
        representation: str = "particles",
        stage_model_config: Mapping[str, Mapping[str, Any]] | None = None,
        symmetries: tuple[str, ...] = (),
        ensemble: Mapping[str, int] | None = None,
        fsr: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.symmetries = check_symmetries(symmetries, "symmetries")
        if representation not in REPRESENTATIONS:
            raise ValueError(f"representation must be one of {sorted(REPRESENTATIONS)}, got "
                             f"{representation!r}")
        self.representation = representation
        if multiplicity_model not in MULTIPLICITY_MODELS:
            raise ValueError(f"multiplicity model must be one of {MULTIPLICITY_MODELS}, got "
                             f"{multiplicity_model!r}")
        self.family = family
        self.model_config = dict(model_config)
        self.multiplicities = tuple(int(n) for n in multiplicities)
        self.multiplicity_model = multiplicity_model
        self.stage_model_config = {str(k): dict(v) for k, v in (stage_model_config or {}).items()}
        cls = get(family)
        if multiplicity_model == "chain":
            n_stages = max(self.multiplicities)
            unknown = set(self.stage_model_config) - {str(k) for k in range(1, n_stages + 1)}
            if unknown:
                raise ValueError(f"stage_model_config names stage(s) {sorted(unknown)}; the "
                                 f"chain has stages 1..{n_stages}")
        elif self.stage_model_config:
            raise ValueError("stage_model_config needs the multiplicity chain")
        self.ensemble = check_ensemble(ensemble, set(self._indices()))
        # first every network as without an ensemble (same initial weights), so member 0 of a
        # mixture is the network a run without the ensemble trains; each further member's
        # initial weights depend only on (torch's seed, index, member), not on other ensembles
        networks = {i: self._network(cls, i, 0) for i in self._indices()}
        base_seed = torch.initial_seed()
        for i in self._indices():
            extra = []
            for m in range(1, self.ensemble.get(str(i), 1)):
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(member_init_seed(base_seed, i, m))
                    extra.append(self._network(cls, i, m))
            if extra:
                networks[i] = MixtureModel([networks[i], *extra])
        self.models = nn.ModuleDict({self._key(i): net for i, net in networks.items()})
        # built after the networks, so their initial weights are those of a run without it
        splitter = fsr_config(fsr)
        if splitter and self.multiplicities != MULTIPLICITIES:
            raise ValueError(f"fsr: photon-jet splitting needs the multiplicities "
                             f"{list(MULTIPLICITIES)}, got {list(self.multiplicities)}")
        self.fsr = PhotonJetSplitter(splitter) if splitter else None
        self.preprocessors: dict[int, EventPreprocessor] = {}
        self.fractions: dict[int, float] = {}
        self.meta: dict[str, Any] = {}

    @property
    def fsr_config(self) -> dict[str, Any] | None:
        """The photon-jet splitter's options (:func:`~hepgen.generators.fsr.fsr_config`), or
        None without one."""
        return self.fsr.config if self.fsr is not None else None

    def config_of_stage(self, k: int) -> dict[str, Any]:
        """The feature-model config of chain stage k: ``model_config`` updated by
        ``stage_model_config["k"]`` (``model_config`` for separate networks, which have none)."""
        return {**self.model_config, **self.stage_model_config.get(str(k), {})}

    def _indices(self) -> list[int]:
        """Chain stages 1..max(n), or the modelled multiplicities: one network (or ensemble)
        each."""
        if self.multiplicity_model == "chain":
            return list(range(1, max(self.multiplicities) + 1))
        return list(self.multiplicities)

    def _key(self, index: int) -> str:
        """Key of network ``index`` in :attr:`models`: ``chain<k>`` or ``<n>``."""
        return f"chain{index}" if self.multiplicity_model == "chain" else str(index)

    def _network(self, cls: type[FeatureModel], index: int, member: int) -> FeatureModel:
        """A new network (ensemble member ``member``) for chain stage or multiplicity ``index``."""
        dims = (stage_dims(index) if self.multiplicity_model == "chain"
                else (EventPreprocessor(index).dim, 0))
        config = self.config_of_stage(index)
        return cls(*dims, member_config(config, member) if member else config)

    def model(self, n: int) -> FeatureModel:
        """The generator of n-jet features: its network, or its view of the chain."""
        if self.multiplicity_model == "chain":
            return ChainView(self.stages(), n)  # type: ignore[return-value]
        return self.models[str(n)]  # type: ignore[return-value]

    def stages(self) -> list[FeatureModel]:
        """The chain's stages in order (``multiplicity_model="chain"``)."""
        return [self.models[f"chain{k}"] for k in range(1, len(self.models) + 1)]  # type: ignore

    def trainable_units(self) -> list[tuple[str, FeatureModel]]:
        """(name, network) of every separately trained network: ``j<n>`` or ``chain<k>``,
        ensemble members i > 0 as ``<name>_m<i>``."""
        return [(name, model) for name, _, _, model in self.training_networks()]

    def training_networks(self) -> list[tuple[str, int, int, FeatureModel]]:
        """(name, index, member, network) of every separately trained network: index = the
        chain stage k or the multiplicity n, member = its place in an ensemble (0 without)."""
        units = []
        for index in self._indices():
            model = self.models[self._key(index)]
            name = f"chain{index}" if self.multiplicity_model == "chain" else f"j{index}"
            members = list(model.members) if isinstance(model, MixtureModel) else [model]
            units += [(name if m == 0 else f"{name}_m{m}", index, m, member)
                      for m, member in enumerate(members)]
        return units

    # --- preprocessing ----------------------------------------------------------------------
    def dressed(self, events: ak.Array) -> tuple[ak.Array, Split | None]:
        """The core events the networks model and the splits taken out of them (with
        :attr:`fsr`); without a splitter the events themselves and None."""
        if self.fsr is None:
            return events, None
        return self.fsr.dress(events)

    def fit_preprocessing(self, events: ak.Array) -> dict[int, Tensor]:
        """Fit preprocessing and multiplicity fractions on training events (their core events
        with :attr:`fsr`, whose standardisations are fitted too); return the float32 feature
        tensors (N_n, D_n) per multiplicity (float64 inverse maps stay exact)."""
        events, split = self.dressed(events)
        if self.fsr is not None:
            self.fsr.fit(events, split)
        by_n = split_by_multiplicity(events)
        missing = [n for n in self.multiplicities if len(by_n.get(n, [])) < 2]
        if missing:
            raise HepgenInputError(
                f"training events have fewer than 2 events with {missing} jet(s); "
                f"the generator models {list(self.multiplicities)} jets"
            )
        total = sum(len(by_n[n]) for n in self.multiplicities)
        for n in self.multiplicities:
            self.preprocessors[n] = make_preprocessor(n, self.representation).fit(by_n[n])
            self.fractions[n] = len(by_n[n]) / total
        return self._core_features(events)

    def features(self, events: ak.Array) -> dict[int, Tensor]:
        """float32 features (N_n, D_n) of ``events`` (their core events with :attr:`fsr`) per
        modelled multiplicity n, with the fitted preprocessing; event order within each
        multiplicity is kept."""
        return self._core_features(self.dressed(events)[0])

    def _core_features(self, events: ak.Array) -> dict[int, Tensor]:
        self._check_fitted()
        by_n = split_by_multiplicity(events)
        return {n: torch.as_tensor(self.preprocessors[n].forward(by_n[n]), dtype=torch.float32)
                for n in self.multiplicities if n in by_n}

    @torch.no_grad()
    def feature_log_prob(self, events: ak.Array, batch_size: int = 65_536, *,
                         kinematic: bool = False) -> dict[int, np.ndarray]:
        """log q(x) (N_n,) of each n-jet event's features x under the generator, per modelled
        multiplicity n, in nats; events of other multiplicities are left out.

        With :attr:`symmetries` the density is that of the symmetrised sampler,
        log mean_g q(x(g e)) over the reflections g of the group (identity included).
        ``kinematic=False``: a density in feature space, comparable between generators with the
        same fitted preprocessing (same representation, same training file). ``kinematic=True``
        adds the preprocessing's log-Jacobian: the density in the representation's kinematic
        coordinates, comparable between representations whose kinematic coordinates differ by
        a unit Jacobian (the same ``COORDINATES`` of their preprocessors: ``recoil`` and all its
        variants). Either serves as a held-out NLL.
        With :attr:`fsr`: log p(core) + log p(branch | core), plus for events that dress the
        split's log-density and the dressing map's log-Jacobian
        (:func:`~hepgen.physics.dressing.split_log_jacobian`); like the networks' domain cut, the
        redraw of invalid splits is not renormalised.
        Events outside the generator's support (a preprocessing step's domain, e.g. a dimuon
        mass above the mass-window chart's edge) get -inf: the density there is 0.
        """
        from scipy.special import logsumexp  # here: scipy.special costs `generate` ~0.15 s

        self._check_fitted()
        elements = [(), *group_elements(self.symmetries)]
        per_element: dict[int, list[np.ndarray]] = {}
        for element in elements:
            by_n = split_by_multiplicity(reflect(events, element) if element else events)
            for n in (n for n in self.multiplicities if n in by_n):
                values = (self._split_log_prob(by_n[n], n, batch_size, kinematic)
                          if self.fsr is not None
                          else self._core_log_prob(by_n[n], n, batch_size, kinematic))
                per_element.setdefault(n, []).append(values)
        n_elements = len(elements)
        return {n: logsumexp(np.stack(v), axis=0) - np.log(n_elements)
                for n, v in per_element.items()}

    @torch.no_grad()
    def _core_log_prob(self, events: ak.Array, n: int, batch_size: int, kinematic: bool
                       ) -> np.ndarray:
        """log q (N,) of n-jet (core) events under the networks, in feature space or (with
        ``kinematic``) in the n-jet preprocessor's kinematic coordinates; -inf outside the
        preprocessing's domain (``EventPreprocessor.in_support``)."""
        inside, x, log_det = self.preprocessors[n].forward_in_support(events)
        out = np.full(len(inside), -np.inf)
        if not inside.any():
            return out
        model = self.model(n).eval()
        x = torch.as_tensor(x, dtype=torch.float32)  # as in features()
        values = torch.cat([model.log_prob(xb, None) for xb in x.split(batch_size)])
        out[inside] = values.double().numpy() + (log_det if kinematic else 0.0)
        return out

    def _split_log_prob(self, events: ak.Array, n: int, batch_size: int, kinematic: bool
                        ) -> np.ndarray:
        """log q (N,) of n-jet events with photon-jet splitting: p(core) p(branch | core), times
        p(split | core) and the dressing map's Jacobian for the events that dress."""
        core, split = self.fsr.dress(events)
        rows = split.mask
        out = self.fsr.log_branch(core, split.muon)
        if (~rows).any():
            out[~rows] += self._core_log_prob(events[~rows], n, batch_size, kinematic)
        if rows.any():
            sub, muon = core[rows], split.muon[rows]
            jet = {f: v[rows] for f, v in split.jet.items()}
            pre_n, pre_core = self.preprocessors[n], self.preprocessors[n - 1]
            value = (self._core_log_prob(sub, n - 1, batch_size, True)
                     + self.fsr.log_kinematics(sub, muon, jet)
                     + split_log_jacobian(events[rows], pre_n, pre_core, self.fsr.radius,
                                        mll_max=self.fsr.mll_max))
            if not kinematic:  # from the n-jet kinematic coordinates to its features
                inside, _, log_det = pre_n.forward_in_support(events[rows])
                value[~inside] = -np.inf  # no n-jet feature density outside its chart
                value[inside] -= log_det
            out[rows] += value
        return out

    # --- sampling ---------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not self.preprocessors:
            raise RuntimeError("generator has no fitted preprocessing: train or load it first")

    def events_in_domain(self, n_jets: int, x: Tensor, rng: np.random.Generator) -> ak.Array:
        """The events of sampled n-jet features ``x (N, 5 + 4 n)`` that lie inside the physics
        domain (jets above the pT cut and within |eta| 5, finite values; features beyond
        :data:`MAX_STANDARDISED` standard deviations, far tails, dropped before the inverse)."""
        x64 = x.double().cpu().numpy()
        ok = np.isfinite(x64).all(axis=1)
        ok[ok] = np.abs(x64[ok]).max(axis=1) < MAX_STANDARDISED
        events = self.preprocessors[n_jets].inverse(x64[ok], rng=rng)
        return events[in_reference_phase_space(events)]

    @torch.no_grad()
    def sample_multiplicity(
        self, model: FeatureModel, n_jets: int, count: int, gen: torch.Generator,
        rng: np.random.Generator,
    ) -> tuple[ak.Array, int]:
        """``count`` events of ``n_jets`` jets inside the physics domain, and the number of
        out-of-domain draws rejected on the way (jets below the pT cut or beyond |eta| 5,
        non-finite values)."""
        parts, have, rejected = [], 0, 0
        for _ in range(MAX_REJECTION_ROUNDS):
            need = count - have
            if need <= 0:
                break
            ask = need + max(16, need // 50)
            events = self.events_in_domain(n_jets, model.sample(ask, None, gen), rng)
            rejected += ask - len(events)
            events = events[:need]
            if self.symmetries:
                events = reflect_at_random(events, self.symmetries, rng)
            parts.append(events)
            have += len(events)
        if have < count:
            raise RuntimeError(
                f"{n_jets}-jet model: only {have} of {count} samples inside the physics domain "
                f"after {MAX_REJECTION_ROUNDS} rounds; the model is badly trained"
            )
        return (ak.concatenate(parts) if len(parts) > 1 else parts[0]), rejected

    def sample_n_jets(self, n_jets: int, count: int, gen: torch.Generator,
                      rng: np.random.Generator) -> ak.Array:
        """``count`` events with exactly ``n_jets`` jets as the generator makes them: without
        :attr:`fsr` the n-jet samples of :meth:`sample_multiplicity`; with it the n-jet events
        of mixed samples (:meth:`sample_events`: n-jet cores left unsplit and split
        (n-1)-jet cores alike). For discriminators and weight calibrations per multiplicity."""
        if self.fsr is None:
            return self.sample_multiplicity(self.model(n_jets).eval(), n_jets, count, gen,
                                            rng)[0]
        parts, have = [], 0
        while have < count:
            ask = int(1.2 * (count - have) / self.fractions[n_jets]) + 1000
            events, _ = self.sample_events(ask, int(rng.integers(2**62)))
            events = events[ak.to_numpy(ak.num(events.Jet)) == n_jets][: count - have]
            parts.append(events)
            have += len(events)
        return ak.concatenate(parts) if len(parts) > 1 else parts[0]

    def sample_events(
        self, n: int, seed: int, *, draw_model: Mapping[int, FeatureModel] | None = None
    ) -> tuple[ak.Array, dict[str, int]]:
        """``n`` events, multiplicities drawn from the training fractions; shuffled.

        Returns the record and rejection counts per multiplicity (``"1j"``: count, ...; with
        :attr:`fsr` ``"fsr"``: split draws redrawn). With :attr:`fsr` the multiplicities are
        drawn for the core events, whose splits then add a jet to some of them.
        ``draw_model`` replaces the feature models (e.g. one posterior draw of a BINN).
        """
        self._check_fitted()
        rng = np.random.default_rng(seed)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        probs = np.array([self.fractions[m] for m in self.multiplicities])
        counts = rng.multinomial(n, probs / probs.sum())
        parts, rejected = [], {}
        for m, k in zip(self.multiplicities, counts, strict=True):
            if k == 0:
                continue
            model = (draw_model or {}).get(m) or self.model(m)
            events, rejected[f"{m}j"] = self.sample_multiplicity(model.eval(), m, int(k), gen, rng)
            parts.append(events)
        events = ak.concatenate(parts) if len(parts) > 1 else parts[0]
        if self.fsr is not None:
            events, rejected["fsr"] = self.fsr.split(events, gen, rng)
        return events[rng.permutation(len(events))], rejected

    def stream(
        self, n: int, seed: int, batch_size: int = 100_000, *, posterior_draws: int = 0
    ) -> Iterator[ak.Array]:
        """Yield chunks of at most ``batch_size`` events, ``n`` in all; memory is flat in n.

        With ``posterior_draws = K >= 1`` (Bayesian families) the output is K blocks of ``n``
        events, block k generated by posterior draw k of the network weights, each event with
        a ``draw`` field = k. Chunk i uses seed (seed, draw, i): results depend on seed and
        batch size only.
        """
        draws = range(max(posterior_draws, 1))
        for k in draws:
            models = self.posterior_models(k) if posterior_draws else None
            done, chunk = 0, 0
            while done < n:
                size = min(batch_size, n - done)
                chunk_seed = int(np.random.SeedSequence([seed, k, chunk]).generate_state(1)[0])
                events, _ = self.sample_events(size, chunk_seed, draw_model=models)
                if posterior_draws:
                    events = ak.with_field(events, np.full(len(events), k, np.int32), "draw")
                yield events
                done += size
                chunk += 1

    @property
    def is_bayesian(self) -> bool:
        """Whether the networks have a weight posterior to draw from (``posterior_draw``)."""
        return all(hasattr(m, "posterior_draw") for _, m in self.trainable_units())

    def posterior_models(self, draw: int) -> dict[int, FeatureModel]:
        """One posterior draw of every multiplicity's network (Bayesian families only)."""
        if not self.is_bayesian:
            raise HepgenInputError(
                f"--posterior-draws needs a Bayesian generator; this one is {self.family!r}"
            )
        if self.multiplicity_model == "chain":
            return posterior_views(self.stages(), self.multiplicities, 1_000_003 * draw)  # type: ignore
        return {m: self.model(m).posterior_draw(seed=1_000_003 * draw + m)  # type: ignore
                for m in self.multiplicities}

    # --- save / load ------------------------------------------------------------------------
    def config_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "format": FORMAT,
            "version": VERSION,
            "hepgen_version": __version__,
            "family": self.family,
            "model_config": self.model_config,
            "multiplicities": list(self.multiplicities),
            "multiplicity_model": self.multiplicity_model,
            "representation": self.representation,
            "stage_model_config": self.stage_model_config,
            "symmetries": list(self.symmetries),
            "ensemble": self.ensemble,
            "fsr": self.fsr_config,
            "fractions": {str(n): f for n, f in self.fractions.items()},
            "preprocessing": {str(n): p.state_dict() for n, p in self.preprocessors.items()},
            "meta": self.meta,
        }

    def save(self, directory: str | os.PathLike[str], extra: Mapping[str, Tensor] | None = None,
             *, half: bool = False) -> Path:
        """Write ``generator.json`` and ``weights.pt`` into ``directory`` (each atomically).
        ``half``: the networks' parameters stored as float16, buffers as they are (exact for
        parameters already rounded, :mod:`hepgen.generators.compact`)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        params = {k for k, v in self.named_parameters() if v.is_floating_point()} if half else set()
        tensors = {f"model.{k}": (v.detach().cpu().half() if k in params else v.detach().cpu())
                   for k, v in self.state_dict().items()}
        tensors.update({f"extra.{k}": v.detach().cpu() for k, v in (extra or {}).items()})
        atomic_write(directory / WEIGHTS_NAME, lambda f: torch.save(tensors, f), binary=True)
        text = json.dumps(self.config_dict(), indent=1, allow_nan=False)
        atomic_write_text(directory / CONFIG_NAME, text)
        return directory

    @classmethod
    def load(
        cls, directory: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None
    ) -> tuple[EventGenerator, dict[str, Tensor]]:
        """Load a saved generator and its extra tensors (e.g. a DiscFlow discriminator).

        ``overrides`` replace entries of the saved model config that do not change the weights
        (e.g. a quantum family's ``qdevice`` or ``shots`` for sampling); an option the family
        does not take raises HepgenInputError.

        Raises HepgenInputError naming the file for anything but a hepgen generator directory;
        ``weights.pt`` loads with ``weights_only=True``, so a crafted pickle cannot run code.
        """
        directory = Path(directory)
        config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
        for path in (config_path, weights_path):
            if not path.is_file():
                raise HepgenInputError(
                    f"{path}: not found; a generator directory holds {CONFIG_NAME} and "
                    f"{WEIGHTS_NAME} (written by `hepgen train`)"
                )
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise HepgenInputError(f"{config_path}: not valid JSON ({err})") from None
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            raise HepgenInputError(f"{config_path}: not a {FORMAT} file")
        if config.get("version") != VERSION:
            raise HepgenInputError(
                f"{config_path}: {FORMAT} version {config.get('version')!r}, this hepgen reads "
                f"version {VERSION}"
            )
        tensors = load_tensors(weights_path)
        model_config = {**config["model_config"], **(overrides or {})}
        try:
            gen = cls(config["family"], model_config, tuple(config["multiplicities"]),
                      config.get("multiplicity_model", "separate"),
                      config.get("representation", "particles"),
                      config.get("stage_model_config"), tuple(config.get("symmetries", ())),
                      config.get("ensemble"), config.get("fsr"))
        except KeyError as err:
            raise HepgenInputError(f"{config_path}: {err.args[0]}") from None
        except (ValueError, TypeError) as err:
            where = f"options {sorted(overrides)}" if overrides else config_path
            raise HepgenInputError(f"{where}: {err}") from None
        gen.fractions = {int(n): float(f) for n, f in config["fractions"].items()}
        try:
            gen.preprocessors = {
                int(n): preprocessor_from_state(s) for n, s in config["preprocessing"].items()
            }
        except (KeyError, ValueError) as err:
            raise HepgenInputError(f"{config_path}: preprocessing: {err}") from None
        gen.meta = config.get("meta", {})
        state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            gen.load_state_dict(state)
        except RuntimeError as err:
            raise HepgenInputError(f"{weights_path}: weights do not fit {CONFIG_NAME}: "
                                   f"{str(err).splitlines()[0]}") from None
        extra = {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")}
        return gen.eval(), extra


def check_ensemble(ensemble: Mapping[str, int] | None, indices: set[int]) -> dict[str, int]:
    """``{"<k>": K}`` with k among ``indices`` (chain stages or multiplicities) and integer
    K >= 1; returned with string keys, sorted."""
    if ensemble is not None and not isinstance(ensemble, Mapping):
        raise ValueError(f"ensemble: expected an object {{\"<stage>\": members}}, got "
                         f"{ensemble!r}")
    ensemble = dict(ensemble or {})
    known = sorted(str(i) for i in indices)
    bad = {k: v for k, v in ensemble.items() if str(k) not in known or isinstance(v, bool)
           or not isinstance(v, int) or v < 1}
    if bad:
        raise ValueError(f"ensemble: keys must be among {known} and values whole numbers "
                         f">= 1 (members), got {bad}")
    return {str(k): int(v) for k, v in sorted(ensemble.items())}


def member_init_seed(seed: int, index: int, member: int) -> int:
    """torch seed for the initial weights of ensemble member ``member`` (>= 1) of network
    ``index`` (chain stage or multiplicity), from the seed torch had when the generator was
    built."""
    return int(np.random.SeedSequence([seed % 2**63, index, member]).generate_state(1)[0])


def member_config(config: Mapping[str, Any], member: int) -> dict[str, Any]:
    """The feature-model config of ensemble member ``member``: its fixed rotations are those
    of ``seed`` + ``member`` (members differ in rotations, initial weights and training seed)."""
    return {**config, "seed": int(config.get("seed", 0)) + member}


def load_tensors(path: Path) -> dict[str, Tensor]:
    """``torch.load(path, weights_only=True)``: tensors and plain containers only."""
    try:
        tensors = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise HepgenInputError(
            f"{path}: refused to load: the file holds Python objects other than tensors, which "
            "could execute code; hepgen model files hold tensors only (re-train or re-export it)"
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise HepgenInputError(f"{path}: not a torch weights file ({err})") from None
    if not isinstance(tensors, dict) or not all(isinstance(v, Tensor) for v in tensors.values()):
        raise HepgenInputError(f"{path}: expected a dict of tensors")
    return tensors
