"""`python -m crmcli` runs the command line."""

from crmcli.cli import main

main()
