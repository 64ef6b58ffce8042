"""Names of the generator families and training strategies, without importing torch: the
command line lists them in ``--help``, which should not wait for torch to load."""

from __future__ import annotations

from importlib.metadata import entry_points

#: Entry-point group through which generator families plug in (setup.cfg, plugins).
ENTRY_POINT_GROUP = "hepgen.generators"
#: Training strategies over a base family (``--model discflow`` trains the config's ``base``).
STRATEGIES: tuple[str, ...] = ("discflow",)


def entry_point_names() -> list[str]:
    """Sorted names of the families installed under :data:`ENTRY_POINT_GROUP` (not loaded)."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})
