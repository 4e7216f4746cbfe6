"""The voiceotp gateway: an ihuyi-compatible voice code service (see docs/gateway.md)."""

from voiceotp.gateway.app import create_app
from voiceotp.gateway.settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "create_app"]
