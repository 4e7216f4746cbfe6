"""What a failure means and what to do next, in English, shown after the service's own
(Chinese) message, which is kept as it came: the two say different things, and the
original is what the provider's support and documents use."""

from __future__ import annotations

from voiceotp.errors import APIError, ConnectError
from voiceotp.protocol import Code, ProtocolError

# The service's codes (the table: protocol/codes.py). "voiceotp gateway" says what its
# operator runs; an operator of another service has their own console or support.
CODE_HINTS: dict[Code, str] = {
    Code.FAILED: "the service did not accept the request (nothing was placed); try again later",
    Code.IP_DENIED: "the service refuses requests from this machine's IP address; ask its operator",
    Code.ACCOUNT_EMPTY: "no account (APIID) was sent: set VOICEOTP_ACCOUNT or --account, or"
    " run `voiceotp config init`",
    Code.PASSWORD_EMPTY: "no APIKEY was sent: set VOICEOTP_APIKEY or run `voiceotp config init`",
    Code.MOBILE_EMPTY: "no mobile number was sent",
    Code.MOBILE_BLACKLISTED: "this number is on a blacklist and is never called; only the"
    " operator can take it off (voiceotp gateway: `voiceotp admin blacklist ACCOUNT MOBILE"
    " --remove`)",
    Code.CONTENT_EMPTY: "no code (or notice text) was sent",
    Code.AUTH_FAILED: "wrong account (APIID) or APIKEY: compare them (`voiceotp config show`)"
    " with what the provider issued; `voiceotp config init --force` replaces them",
    Code.PASSWORD_EXPIRED: "the dynamic password is outside the service's 5-minute window:"
    " this machine's clock is off; set it right (NTP), then send again",
    Code.ACCOUNT_FROZEN: "the account is frozen by its operator; ask them to unfreeze it"
    " (voiceotp gateway: `voiceotp admin unfreeze ACCOUNT`)",
    Code.BALANCE_LOW: "the account has no calls left; ask the operator to top it up"
    " (voiceotp gateway: `voiceotp admin topup ACCOUNT UNITS`), then send again",
    Code.IP_NOT_ALLOWED: "this machine's IP address is not on the account's allow-list; ask"
    " the operator to add it (voiceotp gateway: `voiceotp admin configure ACCOUNT"
    " --allow-ip IP`)",
    Code.MOBILE_INVALID: "the service says this is not a valid mobile number",
    Code.CONTENT_SENSITIVE: "the content holds a word the service refuses",
    Code.CONTENT_INVALID: "the code must be 4 to 6 digits",
    Code.ABUSE_FROZEN: "abuse detection froze the account automatically (e.g. many distinct"
    " numbers, or one number range, in a short time); nothing can be sent until the"
    " operator clears it (voiceotp gateway: `voiceotp admin clear-abuse ACCOUNT`; ihuyi:"
    " their support)",
    Code.NUMBER_MINUTE_CAP: "per-number cap: this number has had its codes for this minute;"
    " wait a minute before sending it another",
    Code.NUMBER_HOUR_CAP: "per-number cap: this number has had its codes for this hour; wait"
    " before sending it another",
    Code.NUMBER_DAY_CAP: "per-number cap: this number has had its codes for today; try again"
    " tomorrow",
    Code.RATE_LIMITED: "the service is limiting this account's rate (nothing was accepted);"
    " send again in a moment, or slower (batch: --rate)",
    Code.VOICEID_UNKNOWN: "the service knows no call with this voiceid for this account",
    Code.TEMPLATE_NONE: "no approved template (with --template-id: none with that id) for"
    " this account: file one and have it approved (voiceotp gateway: the user center's"
    " templates page, or `voiceotp admin template file ACCOUNT TEXT`, then `voiceotp admin"
    " template approve ID`)",
    Code.TEMPLATE_MISMATCH: "the content fills none of the account's approved templates (the"
    " voiceotp gateway says in brackets where it stopped fitting); with --template-id give"
    " every variable's value, in order, separated by |",
    Code.VARIABLE_TOO_LONG: "a value is longer than its variable allows (the limit is in"
    " 【】): shorten it, or file the template with a longer limit ({name:N})",
    Code.NOTICE_TOO_LONG: "a notice is at most 180 characters, before and after filling its"
    " template",
}
UNREADABLE_HINT = (
    "the answer is not the ihuyi API's: check --base-url (ihuyi and the voiceotp gateway"
    " answer at .../webservice/voice.php)"
)
UNREACHABLE_HINT = "check --base-url and that the service is up (nothing was sent)"


def hint_for(error: BaseException | None) -> str | None:
    """What ``error`` means and what to do, or None when its message says it all."""
    if isinstance(error, APIError):
        return hint_for_code(error.code)
    if isinstance(error, ProtocolError):
        return UNREADABLE_HINT
    if isinstance(error, ConnectError):
        return UNREACHABLE_HINT
    return None


def hint_for_code(code: int | None) -> str | None:
    """The hint for a result code (e.g. a batch's stop reason), if the table has one."""
    if code is None:
        return None
    try:
        return CODE_HINTS.get(Code(code))
    except ValueError:
        return None  # a code outside the table
