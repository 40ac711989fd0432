"""Publicity (公示) and notices (通知公告)."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
