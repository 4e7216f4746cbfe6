"""Voice notifications (语音通知), sans I/O: template syntax, content matching, numbers.

A template is fixed text with variables in ihuyi's style, ``【变量】`` (anonymous), or
named, ``{name}``; ``{name:20}`` gives a variable its own length limit (else the
template's). A notice's ``content`` is the filled text: :func:`match_template` finds
which approved template it fills and with what, and says what failed when none fits
(which template, which variable). The gateway, ``FakeIhuyi`` and the client share this
code, so what one accepts the others accept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from voiceotp.protocol.errors import TemplateSyntaxError
from voiceotp.protocol.mobile import normalize_mobile

__all__ = [
    "ANONYMOUS",
    "MAX_CONTENT",
    "MAX_TEMPLATE",
    "Match",
    "Mismatch",
    "Template",
    "TemplateSyntaxError",
    "TooLong",
    "fill_template",
    "is_valid_callee",
    "is_valid_landline",
    "match_template",
    "normalize_callee",
    "notice_url",
    "parse_template",
]

ANONYMOUS = "【变量】"
CODE_PATH = "/webservice/voice.php"
NOTICE_PATH = "/vm/webservice/voice.php"  # voiceotp's; ihuyi's is CODE_PATH on api.vm.
_IHUYI_CODES, _IHUYI_NOTICES = "api.ihuyi.com", "api.vm.ihuyi.com"
MAX_CONTENT = 180  # characters of a notice's content (ihuyi: 支持 180 个字)
MAX_TEMPLATE = 300  # characters of a template's text, variables included
MAX_VARIABLES = 20
DEFAULT_VAR_MAX = 8  # ihuyi's 40722 names 8 as the usual limit
_TOKEN = re.compile(r"【变量】|\{([A-Za-z_][A-Za-z0-9_]{0,31})(?::([0-9]{1,3}))?\}")
# 区号 + a local number not starting with 0 or 1: 8 digits after 010 and 02x, 7-8 after
# a four-digit 区号 (0xxx).
_LANDLINE = re.compile(r"0(?:10|2[0-9])[2-9][0-9]{7}|0[3-9][0-9]{2}[2-9][0-9]{6,7}")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")


@dataclass(frozen=True, slots=True)
class Variable:
    name: str  # "变量1", "变量2" … for 【变量】, else the given name
    max_len: int


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: ``parts`` alternate fixed text and variables, starting and
    ending with (possibly empty) fixed text, so ``len(parts) == 2 * len(variables) + 1``."""

    id: int
    text: str
    fixed: tuple[str, ...]
    variables: tuple[Variable, ...]

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.fixed)


@dataclass(frozen=True, slots=True)
class Match:
    """The content fills ``template`` with ``values`` (in order)."""

    template: Template
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TooLong:
    """The content fits ``template`` but a variable's value is longer than its limit."""

    template: Template
    variable: Variable
    length: int


@dataclass(frozen=True, slots=True)
class Mismatch:
    """No template fits; ``template`` is the nearest one (None: there is none),
    ``variable`` the one after which it stopped fitting (None: the opening text), and
    ``expected`` the fixed text wanted there ("": the variable itself is missing)."""

    template: Template | None
    variable: Variable | None = None
    expected: str = ""
    values: int = 0  # templateid mode: how many values came, when more than variables

    def describe(self) -> str:
        """What failed, for the 4072 message (Chinese, short; the variable's name and at
        most 12 characters of the template's own text, never the content)."""
        if self.template is None:
            return ""
        head = f"模板{self.template.id}"
        if self.values:
            return f"{head}:有{len(self.template.variables)}个变量,收到{self.values}个值"
        if self.variable is None:
            return f"{head}:开头应为「{_short(self.expected)}」"
        if not self.expected:
            return f"{head}:变量{{{self.variable.name}}}缺少内容"
        return f"{head}:变量{{{self.variable.name}}}之后应为「{_short(self.expected)}」"


def _short(text: str) -> str:
    return text if len(text) <= 12 else text[:12] + "…"


def parse_template(text: str, template_id: int = 0, *, var_max: int = DEFAULT_VAR_MAX) -> Template:
    """Parse ``text`` (TemplateSyntaxError when it has no fixed text, too many variables,
    two variables side by side, a repeated name, or is too long)."""
    if not text.strip():
        raise TemplateSyntaxError("the template is empty")
    if len(text) > MAX_TEMPLATE:
        raise TemplateSyntaxError(f"the template is longer than {MAX_TEMPLATE} characters")
    fixed: list[str] = []
    variables: list[Variable] = []
    last = 0
    for token in _TOKEN.finditer(text):
        fixed.append(text[last : token.start()])
        last = token.end()
        if variables and not fixed[-1]:
            raise TemplateSyntaxError("two variables side by side cannot be told apart")
        variables.append(_variable(token, len(variables) + 1, var_max))
    fixed.append(text[last:])
    names = [v.name for v in variables]
    if len(set(names)) != len(names):
        raise TemplateSyntaxError("a variable name is used twice")
    if len(variables) > MAX_VARIABLES:
        raise TemplateSyntaxError(f"more than {MAX_VARIABLES} variables")
    if not "".join(fixed).strip():
        raise TemplateSyntaxError("the template has no fixed text")
    return Template(template_id, text, tuple(fixed), tuple(variables))


def _variable(token: re.Match[str], position: int, var_max: int) -> Variable:
    if token.group(0) == ANONYMOUS:
        return Variable(f"变量{position}", var_max)
    limit = int(token.group(2)) if token.group(2) else var_max
    if not 1 <= limit <= MAX_CONTENT:
        raise TemplateSyntaxError(f"the length of {{{token.group(1)}}} must be 1-{MAX_CONTENT}")
    return Variable(token.group(1), limit)


_PATTERNS: dict[tuple[str, ...], re.Pattern[str]] = {}


def _compiled(fixed: tuple[str, ...]) -> re.Pattern[str]:
    pattern = _PATTERNS.get(fixed)
    if pattern is None:
        body = "(.+?)".join(re.escape(part) for part in fixed)
        pattern = re.compile(body, re.DOTALL)
        if len(_PATTERNS) < 4096:  # templates are few; never grow without bound
            _PATTERNS[fixed] = pattern
    return pattern


def match_template(content: str, templates: Sequence[Template]) -> Match | TooLong | Mismatch:
    """The first template (in the given order) that ``content`` fills; else the one that
    fits furthest, and where it stopped."""
    too_long: TooLong | None = None
    for template in templates:
        found = template.pattern.fullmatch(content)
        if found is None:
            continue
        values = found.groups()
        over = next(
            (TooLong(template, v, len(s)) for v, s in zip(template.variables, values, strict=True)
             if len(s) > v.max_len),
            None,
        )  # fmt: skip
        if over is None:
            return Match(template, values)
        too_long = too_long or over
    if too_long is not None:
        return too_long
    return _nearest(content, templates)


def _nearest(content: str, templates: Sequence[Template]) -> Mismatch:
    best: tuple[int, Mismatch] = (-1, Mismatch(None))
    for template in templates:
        reached, mismatch = _walk(content, template)
        if reached > best[0]:
            best = (reached, mismatch)
    return best[1]


def _walk(content: str, template: Template) -> tuple[int, Mismatch]:
    """Scan left to right, each variable taking the shortest run before the next fixed
    part (the last one: up to the closing text): how far the content fits, and where it
    stops. Only called when no template matched, so it always stops somewhere."""
    if not content.startswith(template.fixed[0]):
        return 0, Mismatch(template, None, template.fixed[0])
    at = len(template.fixed[0])
    for i, variable in enumerate(template.variables):
        following = template.fixed[i + 1]
        if at >= len(content):
            return at, Mismatch(template, variable, "")
        last = i + 1 == len(template.variables)
        found = content.rfind(following, at + 1) if last else content.find(following, at + 1)
        if found < 0 or (last and found + len(following) != len(content)):
            return at, Mismatch(template, variable, following)
        at = found + len(following)
    return at, Mismatch(template, None, template.fixed[0])  # not reached: it would match


def fill_template(template: Template, values: Sequence[str]) -> str | TooLong | Mismatch:
    """The text ``template`` gives with ``values`` (ihuyi's ``templateid`` mode, values
    separated by ``|``); TooLong or Mismatch (wrong number of values, an empty one)."""
    if not template.variables:
        return template.text  # nothing to fill: the values are not read
    if len(values) > len(template.variables):
        return Mismatch(template, values=len(values))
    if len(values) < len(template.variables):
        return Mismatch(template, template.variables[len(values)], "")
    parts = [template.fixed[0]]
    for variable, value, fixed in zip(template.variables, values, template.fixed[1:], strict=True):
        if not value:
            return Mismatch(template, variable, "")
        if len(value) > variable.max_len:
            return TooLong(template, variable, len(value))
        parts += [value, fixed]
    return "".join(parts)


def is_valid_landline(value: str) -> bool:
    """True for a mainland landline as 区号 + number in ASCII digits (e.g. 02151290000)."""
    return _LANDLINE.fullmatch(value) is not None


def is_valid_callee(value: str) -> bool:
    """What a notice may call: a mainland mobile (the Submit rule) or a landline."""
    return _MOBILE.fullmatch(value) is not None or is_valid_landline(value)


def normalize_callee(value: str) -> str | None:
    """What people type for a notice's callee, as the gateway's digits: a mobile
    (normalised like Submit's) or a landline (separators and full-width digits allowed,
    ``+86``/``0086`` before 区号 dropped); None when it is neither."""
    mobile = normalize_mobile(value)
    if mobile is not None:
        return mobile
    digits = re.sub(r"[\s\-().\u3000]+", "", value.translate(_FULLWIDTH))
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = "0" + digits[len(prefix) :]
    return digits if is_valid_landline(digits) else None


_FULLWIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")


def notice_url(base_url: str) -> str:
    """The notification product's URL beside a code product's ``base_url``: ihuyi's
    api.ihuyi.com -> api.vm.ihuyi.com (same path); a voiceotp gateway's
    ``…/webservice/voice.php`` -> ``…/vm/webservice/voice.php``; anything else as it is."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if host == _IHUYI_CODES:
        netloc = parts.netloc.lower().replace(_IHUYI_CODES, _IHUYI_NOTICES, 1)
        return urlunsplit(parts._replace(netloc=netloc))
    if host.startswith("api.vm.") or parts.path.endswith(NOTICE_PATH):
        return base_url
    if parts.path.endswith(CODE_PATH):
        path = parts.path[: -len(CODE_PATH)] + NOTICE_PATH
        return urlunsplit(parts._replace(path=path))
    return base_url


def is_notice_target(path: str, host: str = "") -> bool:
    """Does a request to ``path`` on ``host`` reach the notification product? (The fake
    endpoint's rule: voiceotp's path, or an ``api.vm.`` host as ihuyi names it.)"""
    return path.endswith(NOTICE_PATH) or host.lower().startswith("api.vm.")
