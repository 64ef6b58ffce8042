"""Validation of generated events against reference events (``hepgen validate``).

Public API:

- :func:`validate` — compare two event records and write a report directory
  (``metrics.json``, ``plots/``, self-contained ``index.html``); returns a
  :class:`ValidationResult`.
- :class:`Thresholds` — the named pass/warn/fail criteria written into every report.
- :mod:`hepgen.validation.metrics` — χ²/ndf, Wasserstein-1 and separation power as pure
  functions; :mod:`hepgen.validation.classifier` — the classifier two-sample test.
"""

from hepgen.validation.compare import ValidationResult, atomic_directory, validate
from hepgen.validation.stages import ClassifierSettings
from hepgen.validation.thresholds import Thresholds

__all__ = ["ClassifierSettings", "Thresholds", "ValidationResult", "atomic_directory", "validate"]
