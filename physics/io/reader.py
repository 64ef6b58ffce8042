"""Read events from ROOT files (TTree or RNTuple) into the hepgen event record.

Branches are mapped by a :class:`~hepgen.physics.io.schema.Schema`, read chunk by chunk with
uproot (``tree.iterate(step_size=...)``), checked (type, shape, finite values, charges), turned
into the record with :func:`~hepgen.physics.events.build_events` (Cartesian momenta through
scikit-hep ``vector``) and passed through :func:`~hepgen.physics.events.select`. Events outside
the selection are skipped and counted in a :class:`~hepgen.physics.events.SelectionReport`;
anything wrong with the input raises :class:`~hepgen.physics.errors.HepgenInputError` with one
line naming the file, tree and branch and what was expected.

The file and tree are found and the schema matched in :mod:`hepgen.physics.io.tree_lookup`, each
chunk is checked and converted in :mod:`hepgen.physics.io.chunk_conversion`; this module holds
the chunked reading loop and the public :func:`iterate_events` and :func:`read_events`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import awkward as ak
import uproot
import uproot.behaviors.RNTuple

from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import SelectionReport, require_events, select
from hepgen.physics.io.chunk_conversion import chunk_to_events
from hepgen.physics.io.schema import DEFAULT_SCHEMA, Schema, get_schema
from hepgen.physics.io.tree_lookup import (
    ReadContext,
    choose_tree,
    first_line,
    get_tree,
    open_file,
    resolve_schema,
)

#: Entries per chunk read at once (about 60 MB of NanoAOD Z+jets branches in memory).
DEFAULT_STEP_SIZE: int = 100_000


def _check_options(step_size: int | str, max_events: int | None) -> None:
    if isinstance(step_size, bool) or (isinstance(step_size, int) and step_size < 1):
        raise HepgenInputError(
            "step_size must be a positive number of entries or a size like '100 MB', "
            f"got {step_size!r}"
        )
    if max_events is not None and (isinstance(max_events, bool) or max_events < 1):
        raise HepgenInputError(
            f"max_events must be a positive number of entries or None, got {max_events!r}"
        )


def _rntuple_chunks(
    ntuple: uproot.behaviors.RNTuple.RNTuple,
    branches: list[str],
    step_size: int | str,
    entry_stop: int,
) -> Iterator[ak.Array]:
    """RNTuple entries read one cluster at a time, then cut into ``step_size`` slices.

    uproot's ``RNTuple.iterate`` decompresses a whole cluster for every step, which is quadratic
    in the cluster size (files written by ``file[name] = {...}`` are a single cluster): reading
    each cluster once costs one cluster of memory instead. A memory ``step_size`` (str) yields
    whole clusters.
    """
    for cluster in ntuple.cluster_summaries:
        start = int(cluster.num_first_entry)
        stop = min(start + int(cluster.num_entries), entry_stop)
        if start >= stop:
            continue
        arrays = ntuple.arrays(filter_name=branches, entry_start=start, entry_stop=stop)
        step = step_size if isinstance(step_size, int) else len(arrays)
        for first in range(0, len(arrays), step):
            # packed: later whole-buffer operations then touch only this slice's values
            yield ak.to_packed(arrays[first : first + step])


def _entry_chunks(
    tree: object, branches: list[str], step_size: int | str, entry_stop: int
) -> Iterator[ak.Array]:
    """Chunks of at most ``step_size`` entries of ``branches`` (TTree or RNTuple)."""
    if isinstance(tree, uproot.behaviors.RNTuple.RNTuple):
        return _rntuple_chunks(tree, branches, step_size, entry_stop)
    return tree.iterate(  # type: ignore[attr-defined,no-any-return]
        filter_name=branches, step_size=step_size, entry_stop=entry_stop, library="ak"
    )


def _raw_chunks(
    tree: object, branches: tuple[str, ...], step_size: int | str, entry_stop: int, ctx: ReadContext
) -> Iterator[ak.Array]:
    """uproot chunks of ``branches``; read failures (e.g. a truncated file) become input errors."""
    iterator = _entry_chunks(tree, list(branches), step_size, entry_stop)
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        except MemoryError:
            raise
        except Exception as err:  # uproot: OSError, ValueError, decompression errors, ...
            raise HepgenInputError(
                f"{ctx}: cannot read entries ({first_line(err)}); truncated or corrupt file?"
            ) from err
        yield chunk


def iterate_events(
    path: str | os.PathLike[str],
    schema: Schema | str | os.PathLike[str] = DEFAULT_SCHEMA,
    *,
    require_jets: bool = True,
    step_size: int | str = DEFAULT_STEP_SIZE,
    max_events: int | None = None,
    weight: str | None = None,
    report: SelectionReport | None = None,
) -> Iterator[ak.Array]:
    """Yield selected event chunks of a ROOT file (TTree or RNTuple), read ``step_size`` at a time.

    Args:
        path: local ROOT file.
        schema: a :class:`Schema`, a predefined name (``nanoaod``, ``cms-dimuon``, ...) or a JSON
            schema file (see :meth:`Schema.from_dict`).
        require_jets: apply the 1–3 jet selection when the record has jets.
        step_size: entries per chunk (int), or an uproot memory size such as ``"100 MB"``.
        max_events: read at most this many entries (before selection); None reads all.
        weight: per-event weight branch overriding the schema's (required), e.g. ``"genWeight"``.
        report: if given, each chunk's counts (read, kept, skipped by reason) are added to it.

    Yields:
        non-empty event records (see :mod:`hepgen.physics.events`), each of at most
        ``step_size`` events, with a ``draw`` field when the schema names a draw branch and the
        file has it (posterior-draw index, int32); chunks can go straight into
        :func:`~hepgen.physics.io.writer.write_events`.

    Raises:
        HepgenInputError: bad file, tree, branch, type or value (one line naming them).
        HepgenNoEventsError: no event is left after the selection.
    """
    _check_options(step_size, max_events)
    resolved = get_schema(schema)
    if weight is not None:
        resolved = replace(resolved, weight=weight, weight_required=True)
    path = Path(path)
    total = SelectionReport()
    with open_file(path) as file:
        ctx = ReadContext(path, choose_tree(file, path, resolved))
        tree = get_tree(file, ctx)
        n_entries = int(tree.num_entries)  # type: ignore[attr-defined]
        if n_entries == 0:
            raise HepgenInputError(f"{ctx}: the tree has no entries; expected at least one event")
        resolved = resolve_schema(resolved, set(tree.keys()), ctx)  # type: ignore[attr-defined]
        entry_stop = n_entries if max_events is None else min(max_events, n_entries)
        start = 0
        last = None
        for chunk in _raw_chunks(tree, resolved.branches(), step_size, entry_stop, ctx):
            chunk_ctx = replace(ctx, entries=f"entries {start}-{start + len(chunk) - 1}")
            start += len(chunk)
            events, chunk_report = select(
                chunk_to_events(chunk, resolved, chunk_ctx), require_jets=require_jets
            )
            total.add(chunk_report)
            if report is not None:
                report.add(chunk_report)
            last = events
            if len(events):
                yield events
    if total.n_kept == 0 and last is not None:
        require_events(last, f"{ctx}", total)


def read_events(
    path: str | os.PathLike[str],
    schema: Schema | str | os.PathLike[str] = DEFAULT_SCHEMA,
    *,
    require_jets: bool = True,
    step_size: int | str = DEFAULT_STEP_SIZE,
    max_events: int | None = None,
    weight: str | None = None,
) -> tuple[ak.Array, SelectionReport]:
    """Read and select all events of a ROOT file (arguments as :func:`iterate_events`).

    Returns:
        (events, report): the selected event record of length ``report.n_kept`` and the counts
        of events read, kept and skipped per reason.
    """
    report = SelectionReport()
    chunks = list(
        iterate_events(
            path,
            schema,
            require_jets=require_jets,
            step_size=step_size,
            max_events=max_events,
            weight=weight,
            report=report,
        )
    )
    events = chunks[0] if len(chunks) == 1 else ak.concatenate(chunks)
    return events, report


__all__ = ["DEFAULT_STEP_SIZE", "iterate_events", "read_events"]
