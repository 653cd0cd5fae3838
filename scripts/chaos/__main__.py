"""python3 -m chaos (from scripts/), the same as scripts/chaos.py."""

import sys

from .cli import main

sys.exit(main())
