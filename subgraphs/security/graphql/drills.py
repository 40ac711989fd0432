"""Attack-defence drills (攻防演练): files per phase, authorised viewers, the view log."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
