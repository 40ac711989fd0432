"""Ingestion (归集): upload permissions, batches and records, quality issues, rectification, the quality report."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
