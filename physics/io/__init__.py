"""ROOT I/O: read NanoAOD-style, flat and Cartesian TTrees and RNTuples; write NanoAOD-style TTrees.

I/O maps branches to the event record (:mod:`hepgen.physics.events`); it computes no physics
(Cartesian momenta are converted by scikit-hep ``vector``).
"""

from hepgen.physics.io.reader import DEFAULT_STEP_SIZE, iterate_events, read_events
from hepgen.physics.io.schema import (
    DEFAULT_SCHEMA,
    SCHEMAS,
    CollectionSchema,
    Schema,
    get_schema,
    load_schema,
    schemas_matching,
)
from hepgen.physics.io.writer import write_events

__all__ = [
    "DEFAULT_SCHEMA",
    "DEFAULT_STEP_SIZE",
    "SCHEMAS",
    "CollectionSchema",
    "Schema",
    "get_schema",
    "iterate_events",
    "load_schema",
    "read_events",
    "schemas_matching",
    "write_events",
]
