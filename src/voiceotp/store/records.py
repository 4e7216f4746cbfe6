"""Plain values the store hands out and takes in."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from voiceotp.errors import StoreError as StoreError  # re-exported: defined in voiceotp.errors
from voiceotp.errors import StoreUnavailable as StoreUnavailable

ACTIVE, FROZEN, ABUSE_FROZEN = "active", "frozen", "abuse_frozen"
ACCOUNT_STATES = (ACTIVE, FROZEN, ABUSE_FROZEN)
QUEUED, DIALING = "queued", "dialing"
FINAL_STATES = (
    "ANSWERED",
    "BUSY",
    "NO_ANSWER",
    "REJECTED",
    "FAILED",
    "EXPIRED",
    "CANCELED",
    "RELAYED",  # handed to an upstream that accepted it; its final status is unknown
)
POLICY_KINDS = ("deny_ip", "blacklist", "sensitive_word")

# Balances. Operators may raise a balance to MAX_BALANCE, and no single change may move
# more units than that. Refunds of held units are not capped by it (a top-up to the maximum
# while calls are queued must not make their refunds fail), so they may pass it by the few
# units held then; BALANCE_LIMIT, the schema's CHECK, is the hard ceiling for every path.
# Both stay far below int64 (9.2e18): no balance + change, and no SUM(ledger), overflows,
# and every balance is exact as a float64 (JSON clients).
MAX_BALANCE = 10**12
BALANCE_LIMIT = 10**15


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An account as stored; ``apikey_enc`` is the APIKEY encrypted with the server key."""

    id: int
    name: str
    apikey_enc: str
    balance: int
    state: str = ACTIVE
    require_dynamic: bool = False
    allow_ips: tuple[str, ...] = ()
    rate_per_s: int | None = None
    cap_minute: int | None = None
    cap_hour: int | None = None
    cap_day: int | None = None
    callback_url: str = ""
    version: int = 1
    refund_unconnected: bool | None = None  # charge policy; None: the server's default
    # Abuse allowance: the account's detector thresholds (None: the server's; 0: off).
    abuse_distinct_numbers: int | None = None
    abuse_prefix_burst: int | None = None
    # Retention (docs/privacy.md): days full numbers / call audio are kept; None: the server's.
    keep_numbers_days: int | None = None
    keep_audio_days: int | None = None
    # User center (migration 0009).
    trial: bool = False  # calls only trial_numbers until certified
    trial_numbers: tuple[str, ...] = ()
    old_apikey_enc: str = ""  # the APIKEY before a rotation, valid until old_apikey_until
    old_apikey_until: float = 0.0
    low_balance_alert: int | None = None  # push when the balance falls below (None: off)
    low_balance_alerted: bool = False
    blacklist: frozenset[str] = field(default_factory=frozenset)


# Columns update_account() may change (everything but id, name, balance).
ACCOUNT_SETTABLE = (
    "apikey_enc",
    "state",
    "require_dynamic",
    "allow_ips",
    "rate_per_s",
    "cap_minute",
    "cap_hour",
    "cap_day",
    "callback_url",
    "refund_unconnected",  # charge policy override (None: the server's default)
    "abuse_distinct_numbers",  # abuse allowance (None: the server's setting, 0: off)
    "abuse_prefix_burst",
    "keep_numbers_days",  # retention overrides (None: the server's setting)
    "keep_audio_days",
    "trial",
    "trial_numbers",
    "old_apikey_enc",
    "old_apikey_until",
    "low_balance_alert",
    "low_balance_alerted",
)


@dataclass(frozen=True, slots=True)
class VerifySeal:
    """A code the gateway made up (method=Verify), as stored: never in clear.

    ``code_mac`` is HMAC-SHA256(server key, salt + code), what Check compares with;
    ``code_enc`` the code sealed with the server key, what the dialer speaks.
    """

    salt: str
    code_mac: str
    code_enc: str
    expires_at: float
    max_attempts: int


@dataclass(frozen=True, slots=True)
class Acceptance:
    """A Submit that passed every rule: hold one unit and queue the call, or refuse.

    A Verify is an acceptance with ``verify`` set (and ``content`` empty): its code row is
    written in the same transaction, superseding the number's pending code.
    """

    account_id: int
    mobile: str
    content: str
    now: float
    deadline: float
    idem_key: str | None = None
    verify: VerifySeal | None = None
    fingerprint: str = ""  # of mobile + content (KeyBox.fingerprint): replays of ended calls


class AcceptStatus(StrEnum):
    ACCEPTED = "accepted"  # unit held, call row committed (code 2)
    REPLAY = "replay"  # idempotent repeat: the original voiceid, nothing new (code 2)
    KEY_REUSED = "key_reused"  # the key was used for another mobile/content (code 0)
    NO_BALANCE = "no_balance"  # nothing written (code 4051)


@dataclass(frozen=True, slots=True)
class KeyUse:
    """The request an idempotency key was first accepted for (keys are per account).

    A repeat of the key is a replay only for the same mobile and content; the stored
    call row holds both, so no column of its own is needed. Once the call has ended its
    ``content`` is the code's fingerprint (``KeyBox.fingerprint``), so a repeat is
    compared by its own fingerprint then.
    """

    voiceid: str
    mobile: str
    content: str

    def fits(self, mobile: str, content: str, fingerprint: str = "") -> bool:
        """Same number, and the same code (in clear while the call lives, else its
        fingerprint: ``fingerprint`` is the repeat's)."""
        if self.mobile != mobile:
            return False
        return self.content == content or (bool(fingerprint) and self.content == fingerprint)


@dataclass(frozen=True, slots=True)
class AcceptOutcome:
    status: AcceptStatus
    voiceid: str = "0"


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One accepted call: what the delivery queue consumes and Query reports."""

    voiceid: str
    account_id: int
    mobile: str
    content: str
    state: str
    created_at: float
    deadline: float
    attempts: int = 0
    sip_code: int = 0
    answer_time: float = 0.0
    end_time: float = 0.0
    duration: int = 0
    claimed_by: str | None = None
    lease_until: float | None = None


def refund_due(state: str, *, refund_unconnected: bool) -> bool:
    """The charge policy: keep the held unit, or give it back when the call never connected.
    RELAYED is billable like ANSWERED (the upstream took the call and charges us)."""
    return refund_unconnected and state not in ("ANSWERED", "RELAYED")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    account_id: int | None
    kind: str
    detail: str
    created_at: float


@dataclass(frozen=True, slots=True)
class PushAttempt:
    """One status-push POST as it concerned one report (a POST carrying three reports is
    three of these). ``http_status`` 0: no HTTP answer came, ``error`` says why (short, the
    callback's host at most: never its path, query or credentials); ``duration_s`` is how
    long the POST took."""

    report_id: str
    voiceid: str
    attempt: int  # 1 = the report's first push
    at: float
    http_status: int
    error: str
    duration_s: float
