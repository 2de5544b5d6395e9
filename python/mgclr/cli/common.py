"""What the command modules share: reading a CONFIG with its ``--set`` overrides, the one-line error (exit 2),
and the CONFIG / ``--set`` arguments themselves."""

from __future__ import annotations

import sys

CLASS_NAMES_HELP = ("MG class names, one per line (or a JSON list; line k names label k), for timelines from mgclr "
                    "prepare imigue (whose classes are MG1...MG31)")


def with_config(p, required=True):
    """Add the CONFIG argument (optional with ``required=False``: the demo's) and ``--set`` to parser ``p``."""
    if required:
        p.add_argument("config", help="YAML experiment config (see configs/)")
    else:
        p.add_argument("config", nargs="?", help="YAML experiment config (default: the demo's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key (dotted path; the value is YAML), repeatable")
    return p


def _load(args):
    from ..train import load_config

    return load_config(args.config, args.set)


def _config_error(command: str, exc: Exception) -> int:
    print(f"mgclr {command}: {exc}", file=sys.stderr)
    return 2
