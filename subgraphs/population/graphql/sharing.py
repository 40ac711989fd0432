"""sharing (placeholder, being built)."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
