"""mgclr.ops.<op_name>: real functions, generated from the transform classes and kept in step with them."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest
import torch
from conftest import make_transform, skeleton_batch

from mgclr import ops
from mgclr.augment import ALL_TRANSFORMS, Pipeline
from mgclr.ops import augment_functional

pytest.importorskip("mgclr._C", reason="mgclr's extension is not built")

GENERATOR = Path(__file__).resolve().parents[1] / "tools" / "generate_functional_ops.py"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_functional_ops", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_functional_ops_are_what_the_generator_renders():
    rendered = _generator().render()
    checked_in = Path(augment_functional.__file__).read_text()
    assert checked_in == rendered, "regenerate: python tools/generate_functional_ops.py"


def test_checked_in_augment_exports_are_what_the_generator_renders():
    """mgclr.augment re-exports every registered transform class by name, from a file derived from the registry."""
    from mgclr import augment
    from mgclr.augment import _transforms

    checked_in = Path(_transforms.__file__).read_text()
    assert checked_in == _generator().render_augment_exports(), "regenerate: python tools/generate_functional_ops.py"
    for cls in ALL_TRANSFORMS:
        assert getattr(augment, cls.__name__) is cls and cls.__name__ in augment.__all__


def test_every_op_is_a_function_defined_in_source():
    assert sorted(ops.AUGMENTATION_OPS) == sorted(cls.op_name for cls in ALL_TRANSFORMS)
    for name in ops.AUGMENTATION_OPS:
        fn = getattr(ops, name)
        assert inspect.isfunction(fn) and fn.__module__ == "mgclr.ops.augment_functional", name
        assert f"def {name}(" in inspect.getsource(fn)
        assert fn.__doc__ and "Functional form of" in fn.__doc__


@pytest.mark.parametrize("cls", ALL_TRANSFORMS, ids=lambda c: c.op_name)
def test_signature_is_the_transform_plus_call_options(cls):
    fn = getattr(ops, cls.op_name)
    params = inspect.signature(fn).parameters
    own = [n for n in inspect.signature(cls.__init__).parameters if n not in ("self", "kw", "p", "same_on_batch")]
    assert list(params)[:2] == ["x", "lengths"]
    assert list(params)[3 - 1:2 + len(own)] == own
    for name in own:
        assert params[name].default == inspect.signature(cls.__init__).parameters[name].default
    assert params["p"].default == cls.default_p
    for option in ("coord_channels", "generator", "seed", "return_params", "params", "check_finite",
                   "check_lengths", "out"):
        assert params[option].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("cls", ALL_TRANSFORMS, ids=lambda c: c.op_name)
def test_functional_equals_transform_and_pipeline(cls):
    V = 25
    x, lengths = skeleton_batch(4, 3, 40, V, 2, seed=1)
    kwargs = {"layout": "ntu25"} if cls.op_name == "flip" else {}
    fn = getattr(ops, cls.op_name)
    y = fn(x, lengths, p=1.0, seed=7, **kwargs)
    assert torch.equal(y, cls(p=1.0, **kwargs)(x, lengths, seed=7))
    assert torch.equal(y, Pipeline([cls(p=1.0, **kwargs)])(x, lengths, seed=7))


def test_functional_call_options():
    x, lengths = skeleton_batch(4, 3, 40, 25, 2, seed=2)
    y, params = ops.shear(x, lengths, seed=3, return_params=True, check_finite=True, check_lengths=False)
    out = torch.empty_like(y)
    again = ops.shear(x, lengths, params=params, out=out)
    assert torch.equal(again, y) and again.data_ptr() == out.data_ptr()
    bad = x.clone()
    bad[0, 0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="x: expected finite values"):
        ops.shear(bad, lengths, check_finite=True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'sigma'"):
        ops.shear(x, lengths, sigma=1.0)
    assert make_transform(ALL_TRANSFORMS[0], 25).op_name == "coordinate_perturbation"
