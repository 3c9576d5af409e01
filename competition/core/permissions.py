"""The permission layer: every `can_<verb>_<noun>(user, obj)` predicate is registered here once and
used by views (through `require`) and by templates (as Jinja globals) alike.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort

Policy = Callable[..., bool]
POLICIES: dict[str, Policy] = {}


def policy(function: Policy) -> Policy:
    """Register a predicate so templates can call it by name."""
    if not function.__name__.startswith(("can_", "is_")):
        raise ValueError(f"policy {function.__name__} must be named can_… or is_…")
    POLICIES[function.__name__] = function
    return function


def require(allowed: bool, *, hide: bool = False) -> None:
    """Abort with 403, or with 404 when even the object's existence must not be revealed."""
    if not allowed:
        abort(404 if hide else 403)
