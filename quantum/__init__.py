"""hepgen.quantum: quantum circuits and quantum-conditioned invertible generators (PennyLane).

Plugged into the core through the ``hepgen.generators`` entry-point group; the core never
imports this package at import time.
"""
