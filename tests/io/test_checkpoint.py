import numpy as np
import pytest

from largebdg.errors import ParameterError
from largebdg.io.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint


def test_round_trip_is_exact(tmp_path):
    path = checkpoint_path(tmp_path / "r.h5")
    assert path.name == "r.h5.checkpoint"
    x = np.random.default_rng(0).normal(size=10)
    snap = {"iteration": 7, "x": x, "accuracy": None,
            "mixer": {"x": np.zeros((0,)), "r": np.ones((2, 10)), "best": np.inf},
            "engine": {"band0": [1e-3, 0.05, 8.123456789012345, 512, 4]},
            "history": {"mu": np.ones((7, 2))}}
    save_checkpoint(path, {"solver": {"T": 0.1}}, snap, elapsed=3.5)
    config, back, elapsed = load_checkpoint(path)
    assert config == {"solver": {"T": 0.1}} and elapsed == 3.5
    assert back["iteration"] == 7 and back["accuracy"] is None
    assert np.array_equal(back["x"], x) and back["mixer"]["best"] == np.inf
    assert back["engine"]["band0"] == [1e-3, 0.05, 8.123456789012345, 512, 4]
    assert back["mixer"]["x"].shape == (0,)


def test_damaged_checkpoint_is_named(tmp_path):
    path = tmp_path / "r.h5.checkpoint"
    path.write_bytes(b"\x89HDF garbage")
    with pytest.raises(ParameterError, match="r.h5.checkpoint' is damaged.*delete it"):
        load_checkpoint(path)
