"""Gradient training of a :class:`~hepgen.generators.base.FeatureModel` on feature tensors.

Train/validation split, AdamW, one-cycle learning-rate schedule, early stopping on the
validation loss, a checkpoint after every epoch written atomically (temp file + rename), and
``resume`` that continues a killed run from its last checkpoint with the same result as an
uninterrupted run (shuffling is seeded per epoch; RNG states are checkpointed).

Checkpoints hold only tensors and plain containers and load with ``torch.load(weights_only=True)``.
Library code is quiet: progress is reported through the ``on_epoch``/``on_batch`` callbacks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from hepgen.generators.base import FeatureModel
from hepgen.physics.io.atomic import atomic_write

CHECKPOINT_NAME = "checkpoint.pt"


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, ...); the message names the fix."""


class WeightStrategy(Protocol):
    """Per-event loss weights that change during training (e.g. DiscFlow, arXiv 2110.13632).

    ``start_epoch`` is called before each epoch with the model and the indices (into the full
    feature tensor) of the training subset; ``weights(idx, epoch)`` returns weights (B,) with
    mean 1 for a batch given by indices into that subset, or None. Its state is checkpointed.
    """

    def start_epoch(self, model: FeatureModel, train_idx: Tensor, epoch: int) -> None: ...

    def weights(self, idx: Tensor, epoch: int) -> Tensor | None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass
class TrainConfig:
    """Training hyper-parameters (JSON-serialisable)."""

    epochs: int = 30
    batch_size: int = 1024
    lr: float = 2e-3
    weight_decay: float = 0.0
    val_fraction: float = 0.1
    patience: int = 8  # early stopping: epochs without validation improvement
    grad_clip: float = 10.0
    seed: int = 0
    #: reflections (hepgen.physics.symmetries) applied at random to each training event every
    #: epoch, e.g. ["eta", "phi"]; the validation loss stays on the events as they are
    augment: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    val_loss: float
    lr: float


@dataclass
class TrainState:
    """What a checkpoint restores besides the model and optimiser."""

    epoch: int = 0
    best_val: float = math.inf
    best_epoch: int = -1
    history: list[EpochRecord] = field(default_factory=list)


def split_train_val(n: int, val_fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Random disjoint index sets (train, val) of sizes ~(1-f)n, fn; deterministic in ``seed``."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = max(1, int(round(n * val_fraction))) if val_fraction > 0 else 0
    return perm[n_val:], perm[:n_val]


class Trainer:
    """Trains one feature model; ``run_dir`` receives ``checkpoint.pt`` after every epoch."""

    def __init__(
        self,
        model: FeatureModel,
        config: TrainConfig,
        run_dir: str | os.PathLike[str] | None = None,
        device: str = "cpu",
        strategy: WeightStrategy | None = None,
    ) -> None:
        self.model = model.to(device)
        self.config = config
        self.device = device
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.strategy = strategy
        self.optimizer = torch.optim.AdamW(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.state = TrainState()
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None

    # --- checkpoints ----------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path | None:
        return self.run_dir / CHECKPOINT_NAME if self.run_dir is not None else None

    def save_checkpoint(self, best_model: dict[str, Tensor]) -> None:
        """Write the checkpoint atomically (temp file, then rename)."""
        if self.checkpoint_path is None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        payload = {
            "model": self.model.state_dict(),
            "best_model": best_model,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else {},
            "epoch": self.state.epoch,
            "best_val": self.state.best_val,
            "best_epoch": self.state.best_epoch,
            "history": [asdict(r) for r in self.state.history],
            "torch_rng": torch.get_rng_state(),
            "strategy": self.strategy.state_dict() if self.strategy else {},
        }
        atomic_write(self.checkpoint_path, lambda f: torch.save(payload, f), binary=True)

    def load_checkpoint(self) -> dict[str, Tensor]:
        """Restore from ``run_dir/checkpoint.pt``; returns the best model's state dict."""
        path = self.checkpoint_path
        if path is None or not path.exists():
            raise FileNotFoundError(f"{path}: no checkpoint to resume from")
        payload = torch.load(path, map_location=self.device, weights_only=True)
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        if self.scheduler and payload["scheduler"]:
            self.scheduler.load_state_dict(payload["scheduler"])
        self.state = TrainState(
            epoch=int(payload["epoch"]),
            best_val=float(payload["best_val"]),
            best_epoch=int(payload["best_epoch"]),
            history=[EpochRecord(**r) for r in payload["history"]],
        )
        torch.set_rng_state(payload["torch_rng"])
        if self.strategy and payload["strategy"]:
            self.strategy.load_state_dict(payload["strategy"])
        return payload["best_model"]

    # --- training -------------------------------------------------------------------------
    def _batches(self, n: int, epoch: int) -> list[Tensor]:
        gen = torch.Generator().manual_seed(self.config.seed * 100_003 + epoch)
        perm = torch.randperm(n, generator=gen)
        return list(perm.split(self.config.batch_size))

    def _variant_choice(self, n_variants: int, n: int, epoch: int) -> Tensor:
        """Which copy (0: as is, 1..: reflected) each of the ``n`` training events shows in
        ``epoch``; seeded per epoch like the shuffling, so a resumed run repeats it."""
        gen = torch.Generator().manual_seed(self.config.seed * 100_003 + epoch + 7_919)
        return torch.randint(n_variants, (n,), generator=gen)

    def _step(self, x: Tensor, c: Tensor | None, idx: Tensor, epoch: int) -> float:
        weights = self.strategy.weights(idx, epoch) if self.strategy else None
        loss = self.model.loss(x, c, weights)
        if not torch.isfinite(loss):
            raise TrainingError(
                f"non-finite training loss at epoch {epoch + 1}: lower the learning rate "
                f"(--lr, now {self.config.lr:g}) or the batch size, or check the input features"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        return float(loss.detach())

    @torch.no_grad()
    def evaluate(self, x: Tensor, c: Tensor | None) -> float:
        """Mean loss over ``x`` in eval mode (batched)."""
        self.model.eval()
        total, n = 0.0, 0
        for idx in torch.arange(len(x)).split(self.config.batch_size * 4):
            xb, cb = x[idx], (c[idx] if c is not None else None)
            total += float(self.model.loss(xb, cb)) * len(idx)
            n += len(idx)
        return total / max(n, 1)

    def fit(
        self,
        x: Tensor,
        c: Tensor | None = None,
        *,
        resume: bool = False,
        on_epoch: Callable[[EpochRecord], None] | None = None,
        on_batch: Callable[[int, float], None] | None = None,
        variants: list[tuple[Tensor, Tensor | None]] | None = None,
    ) -> TrainState:
        """Train on features ``x (N, D)`` with conditions ``c (N, C)`` or None.

        ``variants``: other copies (x', c') of the same events in the same order, e.g. their
        reflections (``augment``); every epoch each training event is shown as one copy drawn
        at random (the original included). Validation uses ``x``, ``c`` only.
        The best model (lowest validation loss) is loaded into ``self.model`` at the end.
        """
        cfg = self.config
        train_idx, val_idx = split_train_val(len(x), cfg.val_fraction, cfg.seed)
        copies = [(x, c), *(variants or [])]
        if any(v.shape != x.shape or (vc is None) != (c is None)
               or (vc is not None and vc.shape != c.shape) for v, vc in copies):
            raise ValueError("variants must have the shapes of x and c")
        x_all = torch.stack([v[train_idx] for v, _ in copies]).to(self.device)  # (V, N_tr, D)
        c_all = (torch.stack([vc[train_idx] for _, vc in copies]).to(self.device)
                 if c is not None else None)
        x_tr = x_all[0]
        x_val = x[val_idx].to(self.device)
        c_val = c[val_idx].to(self.device) if c is not None else None
        self.model.n_train_hint(len(x_tr))
        steps = max(1, math.ceil(len(x_tr) / cfg.batch_size))
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * steps + 1
        )  # +1: the scheduler takes its first step on construction
        best = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if resume:
            best = self.load_checkpoint()
        while self.state.epoch < cfg.epochs and not self._should_stop():
            epoch = self.state.epoch
            if self.strategy:
                self.strategy.start_epoch(self.model, train_idx, epoch)
            self.model.train()
            losses = []
            choice = self._variant_choice(len(copies), len(x_tr), epoch).to(self.device)
            for i, idx in enumerate(self._batches(len(x_tr), epoch)):
                idx_d = idx.to(self.device)
                pick = choice[idx_d]
                xb = x_all[pick, idx_d]
                cb = c_all[pick, idx_d] if c_all is not None else None
                losses.append(self._step(xb, cb, idx, epoch))
                if on_batch:
                    on_batch(i, losses[-1])
            val = self.evaluate(x_val, c_val) if len(x_val) else sum(losses) / len(losses)
            record = EpochRecord(
                epoch, sum(losses) / len(losses), val, self.optimizer.param_groups[0]["lr"]
            )
            self.state.history.append(record)
            if val < self.state.best_val:
                self.state.best_val, self.state.best_epoch = val, epoch
                best = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.state.epoch += 1
            self.save_checkpoint(best)
            if on_epoch:
                on_epoch(record)
        self.model.load_state_dict(best)
        self.model.eval()
        return self.state

    def _should_stop(self) -> bool:
        return (
            self.state.best_epoch >= 0
            and self.state.epoch - self.state.best_epoch > self.config.patience
        )
