"""Parallel simulation jobs: worker processes whose kept events are yielded in job order.

``jobs`` processes, each with its own Pythia seed derived from ``(seed, job index)``
(:func:`~hepgen.physics.simulation_config.job_seed`); job ``j`` produces a fixed share of the
kept events, and the chunks are yielded in job order, so a file is reproducible for a given seed
and job count. One job runs in this process.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import traceback
from collections import deque
from collections.abc import Iterator
from typing import Any

import awkward as ak

from hepgen.physics.simulation_config import (
    ProgressCallback,
    SimulationConfig,
    SimulationCounts,
    job_seed,
    job_shares,
)
from hepgen.physics.simulation_loop import simulate_chunks

#: Seconds between liveness checks of the worker processes while waiting for results.
WORKER_POLL_S: float = 1.0


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
