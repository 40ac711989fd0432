"""Presentation (亮证) and verification (核验): clients, records, holder tokens, the hash chains."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
