"""ROOT I/O: read NanoAOD-style, flat and Cartesian TTrees and RNTuples; write NanoAOD-style TTrees.

I/O maps branches to the event record (:mod:`hepgen.physics.events`); it computes no physics.
"""

from hepgen.physics.io.writer import write_events

__all__ = ["write_events"]
