"""The window (窗口端): appointments, walk-in intake queries, handover slips."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
