"""Incident notices (网络安全事件通报): recipients, disposal reports, change requests, the archive."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
