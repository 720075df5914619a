#!/bin/sh
# Create .venv (if missing) and install crmcli with its test tools into it. Idempotent.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# compat mode: a plain path entry, not an import hook that costs every start-up ~10-50 ms
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    --config-settings editable_mode=compat -e ".[test]"
