#!/bin/sh
# Install (scripts/install.sh) and run the whole test suite.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install.sh
exec .venv/bin/python -m pytest "$@"
