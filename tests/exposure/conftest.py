"""Fixtures for exposure and reward tests: the problems' context, users and photos."""

from __future__ import annotations

from tests.problems.conftest import ctx, make_user  # noqa: F401  (fixtures shared with problem tests)
