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
