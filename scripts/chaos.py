#!/usr/bin/env python3
"""ringkv chaos: a cluster, checker workloads, a nemesis, and a verdict (docs/chaos.md).

The documented entry point of the package beside it, scripts/chaos/ (`--help` has every
option): scripts/chaos.py run --duration 60 --seed 7
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chaos.cli import main  # noqa: E402 (after the path is set)

if __name__ == "__main__":
    sys.exit(main())
