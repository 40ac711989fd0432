"""Bundles (一件事): definitions, the newborn-birth bundle's cases and their department steps."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
