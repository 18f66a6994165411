#!/usr/bin/env bash
# One-step set-up on Debian 12 (the route measured in docs/install.md):
#   1. Debian's PETSc/SLEPc/MPI Python stack (binary packages, about a minute),
#   2. a virtual environment that sees them (--system-site-packages),
#   3. largebdg itself, editable, plus the one PyPI package Debian lacks (pyamg).
# Idempotent: steps already done are skipped.  Usage: scripts/setup.sh [VENV_DIR]
set -euo pipefail
VENV=${1:-.venv}
PKGS="python3-venv python3-numpy python3-scipy python3-matplotlib python3-h5py python3-numba
python3-petsc4py-real python3-slepc4py-real python3-mpi4py openmpi-bin python3-tomli-w
python3-pytest python3-pytest-xdist python3-hypothesis"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if ! command -v apt-get >/dev/null; then
        echo "setup: needs Debian/Ubuntu apt-get (else use: conda env create -f environment.yml)" >&2
        exit 1
    fi
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing Debian packages:" $missing
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $PKGS >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
# Debian puts petsc4py/slepc4py under /usr/lib/{petsc,slepc}dir, reached by a .pth file
site=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
ls -d /usr/lib/petscdir/petsc*/*-real/lib/python3/dist-packages \
      /usr/lib/slepcdir/slepc*/*-real/lib/python3/dist-packages > "$site/largebdg-debian-petsc.pth"

# PyPI packages Debian 12 lacks.  Debian's petsc4py is built against NumPy 1.x, so this route
# holds NumPy below 2 (the package itself does not: conda-forge's PETSc works with NumPy 2);
# pyamg >= 5.2 needs SciPy >= 1.11 and Debian 12 ships SciPy 1.10.
"$VENV/bin/python" -c "import pyamg" 2>/dev/null || "$VENV/bin/pip" install -q "pyamg>=5.0,<5.2" "numpy<2"
# import-linter checks the package's layers in the test command (pyproject.toml)
[ -x "$VENV/bin/lint-imports" ] || "$VENV/bin/pip" install -q "import-linter>=2" "numpy<2"
"$VENV/bin/pip" install -q --no-deps --no-build-isolation -e .
"$VENV/bin/python" -c "
import largebdg, numpy, petsc4py, slepc4py, mpi4py, h5py, numba, pyamg, tomli_w
from largebdg._optional import slepc; slepc()
print('setup: largebdg', largebdg.__version__, 'ready in $VENV (numpy', numpy.__version__ + ')')"
