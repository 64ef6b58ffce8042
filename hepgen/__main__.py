"""``python -m hepgen`` runs the ``hepgen`` command."""

import sys

from hepgen.cli import main

sys.exit(main())
