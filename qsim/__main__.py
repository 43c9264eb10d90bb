"""``python -m qsim``: the command line."""

from qsim.cli import main

main()
