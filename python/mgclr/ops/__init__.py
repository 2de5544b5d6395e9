"""mgclr.ops: torch.library custom ops backed by the C++/CUDA kernels of mgclr._C (validation in Python,
kernels in csrc/), with pure-torch references in :mod:`mgclr.ops.reference`.
"""

from .infonce import queue_infonce  # noqa: F401
