"""save_params / load_params: .npz files, loaded in place, never through pickle."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn.serialization import load_params, save_params


def sample_params():
    return [np.arange(6.0).reshape(2, 3), np.array([0.5, -1.5], dtype=np.float32), np.array([7.0])]


def test_round_trip_keeps_values_dtypes_and_array_identity(tmp_path):
    saved = sample_params()
    path = save_params(saved, tmp_path / "params.npz")
    target = [np.zeros_like(p) for p in saved]
    arrays = list(target)

    load_params(target, path)

    for loaded, original, array in zip(target, saved, arrays, strict=True):
        assert loaded is array
        assert loaded.dtype == original.dtype
        np.testing.assert_array_equal(loaded, original)


def test_save_writes_exactly_the_given_path(tmp_path):
    path = save_params(sample_params(), str(tmp_path / "weights.bin"))
    assert path == tmp_path / "weights.bin"
    assert path.is_file()
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == ["param_0", "param_1", "param_2"]


def test_shared_arrays_are_restored_at_every_position(tmp_path):
    W = np.arange(4.0).reshape(2, 2)
    path = save_params([W, W], tmp_path / "tied.npz")
    target = [np.zeros((2, 2)), np.zeros((2, 2))]
    load_params(target, path)
    np.testing.assert_array_equal(target[0], W)
    np.testing.assert_array_equal(target[1], W)


def test_load_accepts_more_than_ten_parameters_in_numeric_order(tmp_path):
    saved = [np.full(1, float(i)) for i in range(12)]
    path = save_params(saved, tmp_path / "many.npz")
    target = [np.zeros(1) for _ in range(12)]
    load_params(target, path)
    assert [float(p[0]) for p in target] == [float(i) for i in range(12)]


def test_load_refuses_a_dtype_change(tmp_path):
    path = save_params([np.ones(2, dtype=np.float32)], tmp_path / "p.npz")
    with pytest.raises(
        ValueError, match=r"load_params: param_0 must be float64 of shape \(2,\); got float32"
    ):
        load_params([np.zeros(2)], path)


def test_load_refuses_too_few_or_too_many_arrays(tmp_path):
    path = save_params(sample_params(), tmp_path / "p.npz")
    with pytest.raises(ValueError, match=r"load_params: path must be a file with 2 parameters; got 3 arrays"):
        load_params(sample_params()[:2], path)
    with pytest.raises(ValueError, match=r"load_params: path must be a file with 4 parameters; got 3 arrays"):
        load_params([*sample_params(), np.zeros(1)], path)


@pytest.mark.parametrize(
    "names",
    [["weights"], ["param_0", "bias"], ["param_x"]],
    ids=["no-underscore", "extra-name", "non-numeric-suffix"],
)
def test_load_refuses_a_foreign_npz_with_a_value_error(tmp_path, names):
    """An .npz written by someone else (np.savez(path, weights=...)) must be refused cleanly."""
    path = tmp_path / "foreign.npz"
    np.savez(path, **{name: np.zeros(3) for name in names})
    target = [np.ones(3) for _ in names]
    with pytest.raises(ValueError, match=r"load_params: path must be a file with"):
        load_params(target, path)
    for param in target:
        np.testing.assert_array_equal(param, np.ones(3))


def test_a_refused_load_leaves_every_parameter_unchanged(tmp_path):
    """The check of param_1 must not come after param_0 was already overwritten."""
    path = save_params([np.full(2, 9.0), np.full(3, 9.0)], tmp_path / "p.npz")
    target = [np.zeros(2), np.zeros(4)]  # param_1 has the wrong shape
    with pytest.raises(ValueError, match=r"load_params: param_1 must be float64 of shape \(4,\)"):
        load_params(target, path)
    np.testing.assert_array_equal(target[0], np.zeros(2))


def test_load_never_unpickles(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, param_0=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        load_params([np.zeros(1)], path)
