"""``mgclr info`` (what was compiled, which GPUs it covers) and ``mgclr layouts`` (the built-in skeleton
layouts)."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    info = sub.add_parser("info", help="build and runtime information")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=_cmd_info)
    layouts = sub.add_parser("layouts", help="list the built-in skeleton layouts")
    layouts.set_defaults(func=_cmd_layouts)


def _cmd_info(args) -> int:
    from .. import build_info

    info = build_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    how = {"native": "native ({} SASS)", "ptx": "PTX JIT from {} (compiled by the driver on first use, then cached)",
           "unknown": "unknown (the build did not record its architectures)",
           "none": "NOT covered: no kernel runs here; rebuild with MGCLR_CUDA_ARCHITECTURES={}"}
    rows = []
    for key, value in info.items():
        if key == "gpus":
            for gpu in value:
                cc = gpu["capability"].replace(".", "")
                cover = how[gpu["coverage"]].format(gpu["image"] or cc) if info["cuda_compiled"] else "no CUDA kernels"
                rows.append((f"gpu {gpu['index']}", f"{gpu['name']}, compute capability {gpu['capability']}: {cover}"))
            if not value:
                rows.append(("gpus", "none visible to torch"))
        else:
            rows.append((key, ", ".join(map(str, value)) or "-" if isinstance(value, list) else value))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def _cmd_layouts(args) -> int:
    from ..skeleton import available_layouts, get_layout

    for name in available_layouts():
        layout = get_layout(name)
        print(f"{name:<10} {layout.num_joints:>3} joints, centre {layout.joint_names[layout.center]!r}")
    return 0
