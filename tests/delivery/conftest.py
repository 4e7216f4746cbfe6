"""Store fixtures (SQLite and PostgreSQL) shared with the other stage folders."""

from tests.delivery.queue.sqlstores import db_settings, sql_store
from tests.stores import pg_url, settings, sqlite_template, store

__all__ = ["db_settings", "pg_url", "settings", "sql_store", "sqlite_template", "store"]
