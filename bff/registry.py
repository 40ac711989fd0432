"""Channel BFFs mounted under /bff/<channel>. None is built yet: each channel lands with its own issue,
and the launcher mounts whatever this tuple lists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChannelEntry:
    name: str
    make_app: Callable[[], Any]


CHANNELS: tuple[ChannelEntry, ...] = ()
