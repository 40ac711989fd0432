"""Service guides (办事指南) and their materials, fees, time limits, steps, halls and 情形引导."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
