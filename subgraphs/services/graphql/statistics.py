"""Statistics for the approval desk and the window."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
