"""Run the named hostile cases (all by default): ``python -m hostile [NAME ...]``."""

import sys

from .runner import main

main(sys.argv[1:])
