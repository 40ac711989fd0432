"""Statistics of the licence library: totals, combined counts, trends, presentations."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
