"""Operations tickets (运维工单): request, dispatch, re-dispatch, handling, rating, closing."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
