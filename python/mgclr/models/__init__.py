"""mgclr.models: encoders, heads and the MoCo machinery."""

from .queue import MoCoQueue  # noqa: F401
