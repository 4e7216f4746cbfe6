"""Store fixtures for the kit's test (an app renders the metrics it exports)."""

from tests.stores import pg_url, settings, sqlite_template, store

__all__ = ["pg_url", "settings", "sqlite_template", "store"]
