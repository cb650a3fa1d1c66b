"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine


@pytest.fixture
def engine(fresh_database_url: str, make_db_engine: Callable[..., Engine]) -> Engine:
    """A migrated database of the test's own, on SQLite and on PostgreSQL."""
    return make_db_engine(fresh_database_url)
