"""Statistics for the network-security board, and the monitoring platform's alerts."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
