"""Fingerprints of every augmentation op and preset on fixed inputs and seeds (CPU).

A refactor of the kernel layer must not change any output bit: ``python tests/augment_fingerprints.py
--record`` writes ``tests/data/augment_fingerprints.json`` (sha256 of the outputs and of the records, plus
sums for platforms where libm may round trigonometry differently), and ``test_fingerprints.py`` compares
against it. Record again only for an intended change of behaviour, and say why in the commit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
from pathlib import Path
from typing import Callable, Dict, Tuple

import torch

PATH = Path(__file__).resolve().parent / "data" / "augment_fingerprints.json"


def platform_key() -> str:
    """Exact hashes are only expected where libm and the CPU path are the same as when recorded."""
    libc = "-".join(platform.libc_ver())
    return f"{platform.machine()}/{platform.system()}/{libc}"


def _batch(C: int, V: int, seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    N, T, M = 6, 40, 2
    x = torch.randn(N, C, T, V, M, generator=g)
    lengths = torch.tensor([40, 33, 17, 40, 1, 26])
    x[3, :, :, :, 1] = 0  # an absent second person
    x[1, :, :, 4, 0] = 0  # an untracked joint
    valid = (torch.arange(T).view(1, T) < lengths.view(N, 1)).view(N, 1, T, 1, 1)
    return x * valid, lengths


def cases() -> Dict[str, Callable[[], Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]]:
    """name -> function returning (q, k, records) of one two-view call."""
    from mgclr import augment as A

    def run(pipe, C, V, seed):
        x, lengths = _batch(C, V, seed)
        (q, k), params = pipe(x, lengths, seed=1234 + seed, return_params=True)
        return q, k, params.records

    out = {}
    for i, cls in enumerate(A.ALL_TRANSFORMS):
        name = cls.op_name
        for cc, C, layout, V in ((3, 4, "ntu25", 25), (2, 3, "imigue22", 22)):
            kwargs = {"p": 1.0}
            if name == "flip":
                kwargs.update(layout=layout, mirror_x=True)
            if name == "crop_resize":
                kwargs.update(min_len=8, out_frames=24)

            def make(cls=cls, kwargs=kwargs, cc=cc, C=C, V=V, i=i):
                return run(A.Pipeline([cls(**kwargs)], coord_channels=cc, two_views=True), C, V, i)

            out[f"{name}/{cc}d"] = make
    presets = {
        "paper_best": lambda: A.paper_best(out_frames=32, two_views=True),
        "paper_best_full": lambda: A.paper_best(two_views=True),
        "skeletonclr": lambda: A.skeletonclr(two_views=True),
        "isc": lambda: A.isc(out_frames=32, two_views=True),
        "aimclr_extreme": lambda: A.aimclr_extreme("ntu25", two_views=True),
    }
    # Flip first: the joint ops then run through the generic per-point path instead of the plane loops.
    presets["flip_chain"] = lambda: A.Pipeline([A.Flip(p=1.0, mirror_x=True), A.JointShake(p=1.0),
                                                A.CoordinatePerturbation(p=1.0), A.JointMask(p=1.0),
                                                A.GaussianNoise(p=1.0), A.GaussianBlur(p=1.0)], two_views=True)
    presets["mgclr_extreme"] = lambda: A.mgclr_extreme("ntu25", two_views=True)
    presets["aimclr_normal"] = lambda: A.aimclr_normal(out_frames=40, two_views=True)
    for j, (name, build) in enumerate(presets.items()):
        out[f"preset/{name}"] = lambda build=build, j=j: run(build(), 3, 25, 100 + j)
    # The released variants' arguments (tests/test_parity_augment.py checks them against the released code).
    released = {"temporal_crop/symmetric": A.TemporalCrop(padding="symmetric", p=1.0),
                "random_rotate/clockwise": A.RandomRotate(clockwise=True, p=1.0),
                "euler_rotate/clockwise": A.EulerRotate(clockwise=True, p=1.0),
                "axis_rotate/clockwise": A.AxisRotate(clockwise=True, p=1.0),
                "gaussian_noise/every_point": A.GaussianNoise(skip_missing=False, p=1.0),
                "gaussian_blur/unnormalised": A.GaussianBlur(normalized=False, p=1.0)}
    for j, (name, op) in enumerate(released.items()):
        out[name] = lambda op=op, j=j: run(A.Pipeline([op], two_views=True), 4, 25, 200 + j)
    return out


def fingerprint(q: torch.Tensor, k: torch.Tensor, records: torch.Tensor) -> dict:
    both = torch.stack([q, k]).contiguous()
    return {
        "sha256": hashlib.sha256(both.numpy().tobytes()).hexdigest(),
        "records_sha256": hashlib.sha256(records.contiguous().numpy().tobytes()).hexdigest(),
        "sum": float(both.double().sum()),
        "abs_sum": float(both.double().abs().sum()),
        "shape": list(both.shape),
    }


def compute() -> Dict[str, dict]:
    return {name: fingerprint(*make()) for name, make in cases().items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", action="store_true", help="write the fingerprints file")
    args = ap.parse_args()
    current = compute()
    if args.record:
        PATH.parent.mkdir(parents=True, exist_ok=True)
        PATH.write_text(json.dumps({"platform": platform_key(), "torch": torch.__version__, "cases": current},
                                   indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(current)} fingerprints to {PATH}")
        return
    saved = json.loads(PATH.read_text())["cases"]
    bad = [n for n in saved if n not in current or current[n]["sha256"] != saved[n]["sha256"]
           or current[n]["records_sha256"] != saved[n]["records_sha256"]]
    print(f"{len(saved) - len(bad)}/{len(saved)} identical" + (f"; changed: {', '.join(bad)}" if bad else ""))


if __name__ == "__main__":
    main()
