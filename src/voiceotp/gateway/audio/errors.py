"""Errors of the prompt audio package."""

from __future__ import annotations

from voiceotp.errors import ConfigError, VoiceOTPError

__all__ = ["AudioError", "EspeakNotFound", "MissingClip"]


class AudioError(VoiceOTPError):
    """Audio that cannot be read, converted or rendered."""


class EspeakNotFound(ConfigError):
    """espeak-ng is needed to generate the default prompts but is not installed."""


class MissingClip(ConfigError):
    """A recorded prompt folder lacks a clip the prompt needs."""
