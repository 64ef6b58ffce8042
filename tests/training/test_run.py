"""train_generator: run directory, bit-identical seeds, resume after an interruption, DiscFlow
discriminators saved with the generator and reloaded by load_discriminators."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hepgen.generators.event import WEIGHTS_NAME, EventGenerator
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.preprocessing import split_by_multiplicity
from hepgen.training.discflow import Discriminator, load_discriminators
from hepgen.training.run import RUN_NAME, RunConfig, train_generator, write_finished_unit

TINY = {"n_blocks": 2, "kind": "affine", "hidden": 16, "n_layers": 2}
TRAIN = {"epochs": 3, "batch_size": 64, "lr": 2e-3}


class Interrupted(Exception):
    """Stands in for a kill between two epochs."""


def run_config(model: str = "inn", **discflow) -> RunConfig:
    return RunConfig.from_dict({"model": model, "base": "inn", "model_config": TINY,
                                "train": TRAIN, "discflow": discflow})


def weights(run_dir) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / WEIGHTS_NAME, weights_only=True)


def assert_same_tensors(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_run_directory_layout_and_meta(make_events, tmp_path):
    events = make_events(400, seed=1)
    generator = train_generator(events, run_config(), tmp_path, seed=3,
                                data_info={"path": "toys.root"})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["generator.json", "j1", "j2", "j3", RUN_NAME, WEIGHTS_NAME]
    for n in (1, 2, 3):
        assert sorted(p.name for p in (tmp_path / f"j{n}").iterdir()) == ["checkpoint.pt",
                                                                           "done.pt"]
    run = json.loads((tmp_path / RUN_NAME).read_text())
    assert set(run["history"]) == {"1", "2", "3"}
    assert all(len(h) == 3 for h in run["history"].values())
    assert run["meta"]["seed"] == 3 and run["meta"]["data"] == {"path": "toys.root"}
    loaded, extra = EventGenerator.load(tmp_path)
    assert extra == {}
    assert loaded.meta["train_config"]["seed"] == 3
    assert_same_tensors(loaded.state_dict(), generator.state_dict())


def test_same_seed_twice_gives_bit_identical_weights(make_events, tmp_path):
    events = make_events(400, seed=1)
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        train_generator(events, run_config(), tmp_path / name, seed=seed)
    assert_same_tensors(weights(tmp_path / "a"), weights(tmp_path / "b"))
    a, c = weights(tmp_path / "a"), weights(tmp_path / "c")
    assert any(not torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("stop_at", [(1, 1), (2, 0)], ids=["mid-j1", "start-j2"])
def test_resume_after_interruption_equals_uninterrupted(make_events, tmp_path, stop_at):
    """Interrupt the run after (n_jets, epoch); resume: same weights.pt and the same per-epoch
    history in run.json as an uninterrupted run."""
    events = make_events(400, seed=1)
    train_generator(events, run_config(), tmp_path / "full", seed=2)

    def interrupt(n_jets, record, total):
        if (n_jets, record.epoch) == stop_at:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_generator(events, run_config(), tmp_path / "cut", seed=2, on_epoch=interrupt)
    assert not (tmp_path / "cut" / WEIGHTS_NAME).exists()
    torch.manual_seed(12345)  # the resumed process starts from another RNG state
    train_generator(events, run_config(), tmp_path / "cut", seed=2, resume=True)
    assert_same_tensors(weights(tmp_path / "cut"), weights(tmp_path / "full"))
    full = json.loads((tmp_path / "full" / RUN_NAME).read_text())["history"]
    cut = json.loads((tmp_path / "cut" / RUN_NAME).read_text())["history"]
    assert cut == full


def test_discflow_run_saves_discriminators_that_reload(make_events, tmp_path):
    events = make_events(450, seed=2)
    config = run_config("discflow", start_epoch=1, ramp_epochs=1, n_generated=100,
                        disc_hidden=16, disc_layers=2, disc_batch_size=64)
    train_generator(events, config, tmp_path, seed=0)
    generator, extra = EventGenerator.load(tmp_path)
    assert generator.family == "inn" and generator.meta["model"] == "discflow"
    assert extra and all(k.startswith(("disc1.", "disc2.", "disc3.")) for k in extra)
    discs = load_discriminators(generator.meta, extra)
    assert sorted(discs) == [1, 2, 3]
    by_n = split_by_multiplicity(events)
    for n, disc in discs.items():
        assert isinstance(disc, Discriminator) and not disc.training
        for key, value in disc.state_dict().items():
            assert torch.equal(value, extra[f"disc{n}.{key}"]), key
        # the observable standardisation was fitted on the training events, not left at 0/1
        assert not torch.equal(disc.encoder.mean, torch.zeros_like(disc.encoder.mean))
        w = disc.event_weights(by_n[n])
        assert w.shape == (len(by_n[n]),) and np.isfinite(w).all() and (w > 0).all()
        assert w.std() > 0
    run = json.loads((tmp_path / RUN_NAME).read_text())
    assert {"disc1", "disc2", "disc3"} <= set(run["history"])
    assert len(run["history"]["disc1"]) == 2  # epochs 1 and 2 of 0..2 train the discriminator
    # a plain generator has no discriminators
    assert load_discriminators({}, {}) == {}


def test_run_config_rejects_unknown_keys_and_families():
    with pytest.raises(HepgenInputError, match="learning_rate"):
        RunConfig.from_dict({"model": "inn", "learning_rate": 1})
    with pytest.raises(HepgenInputError, match="'train' option"):
        RunConfig.from_dict({"model": "inn", "train": {"epoch": 3}})
    with pytest.raises(HepgenInputError, match="'discflow' option"):
        RunConfig.from_dict({"model": "discflow", "discflow": {"beta": 3}})
    with pytest.raises(HepgenInputError, match="unknown generator"):
        RunConfig.from_dict({"model": "gan"}, source="my.json")
    cfg = RunConfig.from_dict({"model": "discflow", "base": "binn", "description": "x"})
    assert cfg.family == "binn"


ROOT_DIR = __import__("pathlib").Path(__file__).resolve().parents[2]
CONFIGS = sorted([*(ROOT_DIR / "configs").glob("*.json"),
                  *(ROOT_DIR / "benchmarks" / "configs").glob("*.json")])


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_config_is_valid(path):
    """configs/*.json and the study configs of benchmarks/configs parse, name a registered
    family and build its network; described."""
    data = json.loads(path.read_text())
    assert data.get("description"), f"{path.name} needs a description"
    config = RunConfig.from_dict(data, source=path.name)
    assert config.jets and set(config.jets) <= {1, 2, 3}


def test_jets_option_restricts_the_multiplicities(make_events, tmp_path):
    """jets [1]: one network, for 1-jet events only, fraction 1."""
    config = RunConfig.from_dict({"model": "inn", "jets": [1], "train": {"epochs": 1},
                                  "model_config": {"n_blocks": 1, "hidden": 8}})
    generator = train_generator(make_events(400, seed=3), config, tmp_path / "run")
    assert generator.multiplicities == (1,) and generator.fractions == {1: 1.0}
    events, _ = generator.sample_events(50, seed=0)
    assert (np.asarray(__import__("awkward").num(events.Jet, axis=1)) == 1).all()
    with pytest.raises(HepgenInputError, match="'jets'"):
        RunConfig.from_dict({"model": "inn", "jets": [0, 1]})


def test_stage_train_sets_each_chain_stage_apart(make_events, tmp_path):
    """stage_train: stage 3 trains 5 epochs, the others the 2 of 'train'; recorded in meta."""
    config = RunConfig.from_dict({
        "model": "inn", "multiplicity": "chain", "model_config": TINY,
        "train": {**TRAIN, "epochs": 2}, "stage_train": {"3": {"epochs": 5, "lr": 1e-3}}})
    train_generator(make_events(400, seed=1), config, tmp_path)
    run = json.loads((tmp_path / RUN_NAME).read_text())
    assert [len(run["history"][f"chain{k}"]) for k in (1, 2, 3)] == [2, 2, 5]
    assert set(run["meta"]["stage_train_config"]) == {"chain3"}
    assert run["meta"]["stage_train_config"]["chain3"]["lr"] == 1e-3
    assert run["meta"]["run_config"]["stage_train"] == {"3": {"epochs": 5, "lr": 1e-3}}


def test_stage_train_is_checked():
    base = {"model": "inn", "multiplicity": "chain"}
    with pytest.raises(HepgenInputError, match="'stage_train' keys must be chain stages"):
        RunConfig.from_dict({**base, "stage_train": {"4": {"epochs": 2}}})
    with pytest.raises(HepgenInputError, match="'stage_train' 2: unknown option"):
        RunConfig.from_dict({**base, "stage_train": {"2": {"seed": 2}}})
    with pytest.raises(HepgenInputError, match="'stage_train' keys must be jet multiplicities"):
        RunConfig.from_dict({"model": "inn", "jets": [1, 2], "stage_train": {"3": {}}})
    with pytest.raises(HepgenInputError, match="'train'.*augment.*'z'"):
        RunConfig.from_dict({**base, "train": {"augment": ["z"]}})
    with pytest.raises(HepgenInputError, match="'stage_train' 2.*augment"):
        RunConfig.from_dict({**base, "stage_train": {"2": {"augment": ["eta", "eta"]}}})


def test_augmented_run_is_seeded_and_differs_from_a_plain_one(make_events, tmp_path):
    events = make_events(400, seed=1)
    plain = {"model": "inn", "multiplicity": "chain", "model_config": TINY, "train": TRAIN}
    augmented = {**plain, "train": {**TRAIN, "augment": ["eta", "phi"]}}
    for name, data in (("a", augmented), ("b", augmented), ("plain", plain)):
        train_generator(events, RunConfig.from_dict(data), tmp_path / name, seed=2)
    assert_same_tensors(weights(tmp_path / "a"), weights(tmp_path / "b"))
    a, p = weights(tmp_path / "a"), weights(tmp_path / "plain")
    assert any(not torch.equal(a[k], p[k]) for k in a)


def test_a_unit_written_as_finished_is_kept_on_resume(make_events, tmp_path):
    """write_finished_unit puts another run's network into a run directory; resume keeps it
    bit for bit and trains only the other units (how a study reuses a shipped stage 1)."""
    events = make_events(400, seed=1)
    config = RunConfig.from_dict({"model": "inn", "multiplicity": "chain",
                                  "model_config": TINY, "train": TRAIN})
    donor = train_generator(events, config, tmp_path / "donor", seed=4)
    write_finished_unit(tmp_path / "new" / "chain1", donor.models["chain1"])
    got = train_generator(events, config, tmp_path / "new", seed=9, resume=True)
    assert sorted(p.name for p in (tmp_path / "new" / "chain1").iterdir()) == ["done.pt"]
    assert_same_tensors(got.models["chain1"].state_dict(), donor.models["chain1"].state_dict())
    other = train_generator(events, config, tmp_path / "plain", seed=9)
    assert_same_tensors(got.models["chain2"].state_dict(), other.models["chain2"].state_dict())
