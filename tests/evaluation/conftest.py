"""Fixtures for evaluation tests: the problem context and users of the problem tests."""

from __future__ import annotations

from tests.problems.conftest import ctx, make_user

__all__ = ["ctx", "make_user"]
