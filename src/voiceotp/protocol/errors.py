"""The protocol core's own errors (the rest of the tree is in voiceotp.errors)."""

from __future__ import annotations


class VoiceOTPError(Exception):
    """Base of every voiceotp exception."""


class ProtocolError(VoiceOTPError, ValueError):
    """The response is not a parseable ihuyi document."""

    def __init__(self, reason: str, body: bytes = b"") -> None:
        self.reason = reason
        self.excerpt = body[:200].decode("utf-8", "replace")
        super().__init__(f"{reason}: {self.excerpt!r}" if body else reason)


class TemplateSyntaxError(VoiceOTPError, ValueError):
    """A voice-notification template's text breaks the syntax (the message says where)."""
