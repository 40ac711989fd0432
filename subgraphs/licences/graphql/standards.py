"""Licence standards (证照标准): versions, data elements, review and enabling, the change log."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
