"""Store fixtures (SQLite and PostgreSQL) shared with the other stage folders."""

from tests.stores import pg_url, settings, sqlite_template, store

__all__ = ["pg_url", "settings", "sqlite_template", "store"]
