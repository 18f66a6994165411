import importlib
import pkgutil

import largebdg


def test_all_exports_exist():
    for name in largebdg.__all__:
        assert hasattr(largebdg, name), name


def test_every_module_imports_and_physics_does_not_import_cli():
    """Physics and engine modules never import the CLI or plotting (STYLE.md layout)."""
    import sys

    for mod in pkgutil.walk_packages(largebdg.__path__, "largebdg."):
        importlib.import_module(mod.name)
    for name in ("largebdg.model", "largebdg.scf", "largebdg.engines.chebyshev",
                 "largebdg.engines.dense", "largebdg.kpm.recursion"):
        with open(sys.modules[name].__file__) as fh:
            src = fh.read()
        assert "import cli" not in src and "plotting" not in src


def test_importing_the_cli_does_not_start_mpi():
    """MPI_Init waits for the first communicator (``--help`` must not depend on it)."""
    import subprocess
    import sys

    code = "import sys, largebdg.cli; print('mpi4py.MPI' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "False"
