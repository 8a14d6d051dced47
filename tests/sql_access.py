"""Tests that look under the ports at the SQL database itself."""

from __future__ import annotations

from philos.datasources.sql import SqlDatabase
from philos.datasources.stores import Stores


def sql_db(stores: Stores) -> SqlDatabase:
    """The SQL database the stores were opened on."""
    db = stores.database
    assert isinstance(db, SqlDatabase)
    return db
