"""The classified-protection ledger (等级保护) and its change requests."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
