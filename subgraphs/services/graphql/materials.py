"""Application materials: uploads checked by content, electronic licences instead (免提交), reuse."""

from __future__ import annotations

queries: list[type] = []
mutations: list[type] = []
