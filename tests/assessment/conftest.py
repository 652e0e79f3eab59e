"""Fixtures for assessment tests: the problem context, users and photos of tests/problems."""

from __future__ import annotations

from tests.problems.conftest import ctx, make_user  # noqa: F401  (fixtures)
