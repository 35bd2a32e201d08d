#!/usr/bin/env bash
# Create benches/peers/.venv and install the pinned SimPy and Ciw versions.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -m venv "$HERE/.venv"
"$HERE/.venv/bin/python" -m pip install --quiet --upgrade pip
"$HERE/.venv/bin/python" -m pip install --quiet -r "$HERE/requirements.txt"
"$HERE/.venv/bin/python" -c 'import simpy, ciw; print("simpy", simpy.__version__, "/ ciw", ciw.__version__)'
