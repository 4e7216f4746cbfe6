"""Which approved template a notice fills (protocol/notice.py does the matching).

Two ways to send, as ihuyi's product has them: the whole text in ``content`` (matched
against every approved template of the account, oldest first), or ``templateid`` with
the variables' values in ``content``, separated by ``|``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voiceotp.protocol.notice import Match as TemplateMatch
from voiceotp.protocol.notice import Mismatch, Template, TooLong, fill_template, match_template

__all__ = ["Match", "fill_notice"]


@dataclass(frozen=True, slots=True)
class Match:
    """The notice's text and the template it fills."""

    template_id: int
    text: str


def fill_notice(
    templates: Sequence[Template], content: str, template_id: str = ""
) -> Match | TooLong | Mismatch | None:
    """None when the account has no such approved template (4071)."""
    if template_id:
        chosen = next((t for t in templates if str(t.id) == template_id.strip()), None)
        if chosen is None:
            return None
        filled = fill_template(chosen, content.split("|"))
        return Match(chosen.id, filled) if isinstance(filled, str) else filled
    if not templates:
        return None
    found = match_template(content, templates)
    if isinstance(found, TemplateMatch):
        return Match(found.template.id, content)
    return found
