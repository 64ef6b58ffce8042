"""hepgen: generative networks for Z(->mu+ mu-) + jets events, with ROOT I/O and validation.

Layout: ``hepgen.physics`` (events, observables, preprocessing, ROOT I/O, simulation; no torch),
``hepgen.validation`` (comparison of two event samples), ``hepgen.cli`` (the ``hepgen`` command),
``hepgen.quantum`` (quantum generators; never imported by the core at import time).
"""

from hepgen._version import __version__

__all__ = ["__version__"]
