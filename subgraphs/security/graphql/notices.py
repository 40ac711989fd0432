"""Security notices (网络安全通知): deliveries, read status, material submissions and reminders."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
