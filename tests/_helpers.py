"""Named tolerances and config builders shared by the tests (STYLE.md section 9)."""

from largebdg.config import RunConfig

TOL_SAME = 1e-12  # same algorithm, different implementation
TOL_EXACT = 1e-6  # different exact algorithms
TOL_CHEB_DEFAULT = 1e-3  # Chebyshev engine, default settings, vs dense


def paper_config(L, *, T=0.098, method="dense", band1=None, tol=1e-7, **extra):
    """RunConfig with the paper's parameters and random disorder V = 4, N_d = 0.5 in band 1."""
    band1 = band1 or {"kind": "random", "strength": 4.0, "density": 0.5, "seed": 7}
    data = {
        "lattice": {"L": L},
        "disorder": {"band1": band1},
        "solver": {"T": T, "method": method, "tol": tol, "tol_density": 10 * tol,
                   "tol_filling": tol},
    }
    data.update(extra)
    return RunConfig.from_dict(data)
