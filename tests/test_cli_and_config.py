"""The `mgclr` command, YAML/dict pipeline configs and the NVTX helpers."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import mgclr
from mgclr import profiling
from mgclr.augment import Pipeline, pipeline_from_config
from mgclr.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "augment"


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for sub in ("info", "layouts", "augment"):
        assert sub in out


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["version"] == mgclr.__version__ and "cuda_compiled" in info and "gpu_usable" in info
    assert info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    # bf16 support as the kernel reports the CPU's flags (torch reads CPUID; /proc/cpuinfo is another witness)
    flags = Path("/proc/cpuinfo")
    if flags.is_file():
        words = set(flags.read_text().split())
        expected = "amx" if "amx_tile" in words else "avx512_bf16" if "avx512_bf16" in words else "none"
        assert info["cpu_bf16"] == expected


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "mgclr.cli", "layouts"], capture_output=True, text=True, check=True)
    assert "kinect20" in out.stdout and "ntu25" in out.stdout


@pytest.mark.parametrize("config", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_configs_run(config, capsys):
    assert main(["augment", "--config", str(config), "--batch", "4", "--frames", "40", "--iterations", "2"]) == 0
    assert "samples/s" in capsys.readouterr().out


def test_augment_reports_bad_config(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("ops:\n  - name: shaer\n")
    assert main(["augment", "--config", str(bad), "--iterations", "1"]) == 2
    assert "ops[0]: unknown op 'shaer'; known ops:" in capsys.readouterr().err


def test_config_equals_code():
    cfg = {"coord_channels": 3, "ops": [{"name": "crop_resize", "out_frames": 16, "min_len": 4},
                                        {"one_of": [{"name": "shear", "r": 1.0}, {"name": "joint_shake"}]}]}
    pipe = pipeline_from_config(cfg)
    assert isinstance(pipe, Pipeline) and pipe.execution_order == ("crop_resize", "shear", "joint_shake")
    x = torch.randn(3, 3, 30, 25, 1)
    from mgclr.augment import CropResize, JointShake, OneOf, Shear

    in_code = Pipeline([CropResize(out_frames=16, min_len=4), OneOf([Shear(r=1.0), JointShake()])])
    assert torch.equal(pipe(x, seed=1), in_code(x, seed=1))


@pytest.mark.parametrize("cfg,match", [
    ({"ops": []}, "'ops' must be a non-empty list"),
    ({"ops": [{"name": "shear", "radius": 1}]}, r"ops\[0\] \(shear\): unknown argument\(s\) \['radius'\]"),
    ({"ops": [{"name": "shear", "r": -1}]}, r"ops\[0\]: shear: r: expected a value >= 0.0"),
    ({"ops": [{"one_of": [{"name": "shear"}, {"name": "temporal_crop"}]}]}, "one stage"),
    ({"preset": "simclr"}, "unknown preset 'simclr'"),
    ({"ops": [{"name": "shear"}], "views": 2}, r"unknown key\(s\) \['views'\]"),
    (["shear"], "expected a mapping"),
])
def test_config_errors_name_the_entry(cfg, match):
    with pytest.raises((ValueError, TypeError), match=match):
        pipeline_from_config(cfg)


def test_nvtx_ranges_are_no_ops_without_a_profiler():
    with profiling.range("test/range"):
        value = 1

    @profiling.annotate("test/fn")
    def f(a):
        return a + value

    assert f(1) == 2 and f.__name__ == "f"
    if profiling._backend("x").__class__ is contextlib.nullcontext:  # no NVTX here: nothing is entered at all
        assert isinstance(profiling.range("test/range"), contextlib.nullcontext)


def test_ranges_do_not_break_a_fullgraph_compile():
    def f(x):
        with profiling.range("test/compiled"):
            return x * 2

    torch._dynamo.reset()
    assert torch.equal(torch.compile(f, fullgraph=True, backend="eager")(torch.ones(3)), torch.full((3,), 2.0))


def test_ranges_reach_a_recording_torch_profiler():
    with torch.profiler.profile() as prof:
        with profiling.range("test/recorded"):
            torch.ones(4).sum()
    assert "test/recorded" in {e.key for e in prof.key_averages()}
    assert not isinstance(profiling.range("test/after"), contextlib.ExitStack)  # not recording: nothing extra


def test_lazy_subpackages():
    assert mgclr.augment.Pipeline is Pipeline
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mgclr.nope  # noqa: B018
