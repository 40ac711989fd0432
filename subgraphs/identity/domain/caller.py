"""Who is making a change, for the operation log (操作人)."""

from __future__ import annotations

from typing import Any


def caller_id(info: Any) -> str | None:
    """The verified caller's user id, or None for an anonymous or unverified request.

    Only a caller object put on the context by the verifying layer counts; a plain header could be
    written by anyone, so none is read here.
    """
    caller = getattr(info.context, "caller", None)
    user_id = getattr(caller, "user_id", None)
    return str(user_id) if user_id is not None else None
