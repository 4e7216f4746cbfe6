"""Errors of the prompt audio package (defined in :mod:`voiceotp.errors`)."""

from __future__ import annotations

from voiceotp.errors import AudioError, EspeakNotFound, MissingClip

__all__ = ["AudioError", "EspeakNotFound", "MissingClip"]
