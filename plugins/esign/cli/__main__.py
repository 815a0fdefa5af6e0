"""``python -m esign.cli`` runs the ``esign`` command (when the console script is not on PATH)."""

import sys

from esign.cli import main

sys.exit(main())
