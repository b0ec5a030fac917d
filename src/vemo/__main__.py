"""`python -m vemo` runs the command line."""

from vemo.cli import main

main()
