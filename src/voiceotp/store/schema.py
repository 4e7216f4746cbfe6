"""The gateway's tables, as SQLAlchemy Core metadata (Alembic migrates from it).

Times are Unix seconds as floats (REAL / DOUBLE PRECISION): the clock is injected and
the vectors use whole seconds. ``calls`` rows are the seam to delivery: an accepted
Submit is a row in state ``queued`` that the queue claims.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from voiceotp.store.records import BALANCE_LIMIT

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(16), nullable=False, unique=True),
    Column("apikey_enc", Text, nullable=False),
    Column("balance", BigInteger, nullable=False, default=0),
    # active | frozen (operator) | abuse_frozen (detector, cleared by an operator)
    Column("state", String(16), nullable=False, default="active"),
    Column("require_dynamic", Boolean, nullable=False, default=False),
    Column("allow_ips", Text, nullable=False, default=""),  # comma-separated IPs/CIDRs
    Column("rate_per_s", Integer, nullable=True),  # NULL: the server default
    Column("cap_minute", Integer, nullable=True),
    Column("cap_hour", Integer, nullable=True),
    Column("cap_day", Integer, nullable=True),
    Column("callback_url", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", Float, nullable=False),
    # Charge policy (migration 0002): refund calls that never connected? NULL = server default.
    Column("refund_unconnected", Boolean, nullable=True),
    # Abuse allowance (migration 0004): the account's own detector thresholds; NULL = the
    # server's, 0 = off for this account.
    Column("abuse_distinct_numbers", Integer, nullable=True),
    Column("abuse_prefix_burst", Integer, nullable=True),
    # Retention (migration 0010, docs/privacy.md): days full numbers and call audio
    # are kept; NULL = the server's setting.
    Column("keep_numbers_days", Integer, nullable=True),
    Column("keep_audio_days", Integer, nullable=True),
    # User center (migration 0009): a trial account calls only the numbers it proved
    # (comma-separated) until its certification is approved; the APIKEY it had before a
    # rotation works until old_apikey_until; a push when the balance falls below
    # low_balance_alert (NULL: off), once per fall (low_balance_alerted).
    Column("trial", Boolean, nullable=False, server_default=text("FALSE")),
    Column("trial_numbers", Text, nullable=False, server_default=text("''")),
    Column("old_apikey_enc", Text, nullable=False, server_default=text("''")),
    Column("old_apikey_until", Float, nullable=False, server_default=text("0")),
    Column("low_balance_alert", Integer, nullable=True),
    Column("low_balance_alerted", Boolean, nullable=False, server_default=text("FALSE")),
    # Voice notifications (migration 0010): no notice is dialed within quiet_hours
    # ("21:00-08:00"; "" none; NULL the server's) in time_zone (IANA; NULL the server's).
    Column("quiet_hours", String(11), nullable=True),
    Column("time_zone", String(64), nullable=True),
    CheckConstraint("balance >= 0", name="balance_not_negative"),
    # Migration 0003: the hard ceiling of every balance (records.BALANCE_LIMIT).
    CheckConstraint(f"balance <= {BALANCE_LIMIT}", name="balance_within_limit"),
)

account_blacklist = Table(
    "account_blacklist",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("mobile", String(32), primary_key=True),
    # Migration 0007: why the number is listed (the console shows it).
    Column("note", Text, nullable=False, server_default=text("''")),
)

# Server-wide lists: kind is deny_ip | blacklist | sensitive_word.
policy_entries = Table(
    "policy_entries",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("value", String(128), primary_key=True),
)

calls = Table(
    "calls",
    metadata,
    # On SQLite the voiceid is the rowid itself (INTEGER PRIMARY KEY): one B-tree less.
    Column(
        "voiceid",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("mobile", String(16), nullable=False),
    Column("content", String(8), nullable=False),
    # queued -> dialing -> ANSWERED|BUSY|NO_ANSWER|REJECTED|FAILED|EXPIRED|CANCELED
    Column("state", String(16), nullable=False),
    Column("idem_key", String(160), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("deadline", Float, nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("sip_code", Integer, nullable=False, default=0),
    Column("answer_time", Float, nullable=False, default=0),
    Column("end_time", Float, nullable=False, default=0),
    Column("duration", Integer, nullable=False, default=0),
    # Delivery (migration 0002): a requeued call (redial) is not due before this time.
    Column("not_before", Float, nullable=False, server_default=text("0")),
    # Voice notifications (migration 0010): kind is code | notice; a notice's text is
    # notice_text (content, VARCHAR(8), stays empty), filled from template_id.
    Column("kind", String(8), nullable=False, server_default=text("'code'")),
    Column("notice_text", Text, nullable=False, server_default=text("''")),
    Column("template_id", Integer, nullable=True),
    # Partial: most Submits carry no key, and their rows need no entry here.
    Index(
        "calls_idempotency",
        "account_id",
        "idem_key",
        unique=True,
        sqlite_where=text("idem_key IS NOT NULL"),
        postgresql_where=text("idem_key IS NOT NULL"),
    ),
    Index("calls_by_state", "state", "created_at"),  # the delivery queue's claims
    Index("calls_by_time", "created_at"),  # warming per-number caps at start
    # Console call records (migration 0007): by account or number, newest first (keyset).
    Index("calls_by_account", "account_id", "voiceid"),
    Index("calls_by_mobile", "mobile", "voiceid"),
)

# Every balance change with its reason: sum(delta) per account == accounts.balance.
ledger = Table(
    "ledger",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("reason", String(32), nullable=False),  # topup | hold | refund | adjust
    Column("voiceid", BigInteger, nullable=True),
    Column("created_at", Float, nullable=False),
    Index("ledger_by_account", "account_id"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("account_id", Integer, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("created_at", Float, nullable=False),
)

# Small named counters: voiceid_seq (blocks of ids), policy_version (cache invalidation).
counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# ---- delivery (migration 0002) ---------------------------------------------------------------
# One row per dial attempt of a call (the call record / CDR); times are Unix seconds, NULL
# when the step never happened.
call_attempts = Table(
    "call_attempts",
    metadata,
    Column("voiceid", BigInteger, primary_key=True, autoincrement=False),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("status", String(16), nullable=False),
    Column("sip_code", Integer, nullable=True),
    Column("q850", Integer, nullable=True),
    Column("submit_at", Float, nullable=False),
    Column("invite_at", Float, nullable=True),
    Column("ring_at", Float, nullable=True),
    Column("answer_at", Float, nullable=True),
    Column("end_at", Float, nullable=True),
    Column("duration", Float, nullable=False, default=0),
    Column("worker", String(64), nullable=True),
    Column("detail", Text, nullable=False, default=""),
    # Migration 0008: what placed the call (simulated, sip:<trunk host>, relay:<upstream>);
    # NULL when it was never dialed (expired in the queue, ended by the sweep).
    Column("dialer", String(200), nullable=True),
    # Migration 0013: RTP statistics of an answered SIP call (NULL: not measured). in: the
    # callee's RTP as we received it; out: ours, as the callee's RTCP reported it.
    Column("rtp_in_packets", Integer, nullable=True),
    Column("rtp_in_lost", Integer, nullable=True),
    Column("rtp_in_jitter_ms", Float, nullable=True),
    Column("rtp_out_lost", Integer, nullable=True),
    Column("rtp_out_jitter_ms", Float, nullable=True),
)

# Status reports waiting to be pushed (written in the transaction that finishes the call).
outbox = Table(
    "outbox",
    metadata,
    Column("report_id", String(64), primary_key=True),
    Column("account", String(16), nullable=False),
    Column("callback_url", Text, nullable=False),
    Column("report", Text, nullable=False),  # the StatusReport as JSON
    Column("state", String(16), nullable=False),  # pending | delivered | abandoned
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Index("outbox_due", "state", "next_at"),
)

# Migration 0008: every status-push POST, one row per report it carried (the console's call
# page lists them). ``http_status`` 0: no HTTP answer (``error`` says why: a timeout, a
# refused connection; never the URL's path, query or credentials). Rows are small and a
# report is tried at most ~30 times (24 h of backoff); retention comes with issue 17.
push_attempts = Table(
    "push_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("report_id", String(64), nullable=False),
    Column("voiceid", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", Float, nullable=False),
    Column("http_status", Integer, nullable=False),
    Column("error", String(200), nullable=False, server_default=text("''")),
    Column("duration", Float, nullable=False),
    Index("push_attempts_by_voiceid", "voiceid", "id"),
)

# ---- Verify/Check (migration 0006) --------------------------------------------------------
# One row per code the gateway made up (method=Verify). The code itself is never stored in
# clear: ``code_mac`` is HMAC-SHA256(server key, salt + code) for Check, and ``code_enc``
# the code sealed with the server key (Fernet) for the dialer, erased when the call ends.
# state: pending -> verified | exhausted | superseded (expiry is ``expires_at``).
verifications = Table(
    "verifications",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("voiceid", BigInteger, nullable=False),
    Column("account_id", Integer, nullable=False),
    Column("mobile", String(16), nullable=False),
    Column("salt", String(32), nullable=False),
    Column("code_mac", String(64), nullable=False),
    Column("code_enc", Text, nullable=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("verified_at", Float, nullable=True),
    Index("verifications_by_voiceid", "voiceid", unique=True),
    Index("verifications_by_number", "account_id", "mobile", "id"),
    Index("verifications_by_time", "created_at"),  # the fraud guard's windows
)

# Per-account fraud-guard settings; NULL = the server's default.
fraud_overrides = Table(
    "fraud_overrides",
    metadata,
    Column("account_id", Integer, primary_key=True, autoincrement=False),
    Column("min_conversion", Float, nullable=True),
    Column("min_codes", Integer, nullable=True),
    Column("allow_prefixes", Text, nullable=False, server_default=text("''")),
)

# ---- web faces (migration 0007) ---------------------------------------------------------------
# People who sign in to a browser face; ``kind`` is operator (console) or customer (user
# center), so one set of tables serves both. Roles: admin | support (operators).
web_users = Table(
    "web_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("login", String(64), nullable=False),
    Column("password_hash", Text, nullable=False),  # argon2id, encoded with its parameters
    Column("role", String(16), nullable=False),
    Column("totp_secret", Text, nullable=True),  # base32, sealed with the server key
    Column("language", String(8), nullable=False, server_default=text("'zh'")),
    Column("disabled", Boolean, nullable=False, server_default=text("FALSE")),
    Column("created_at", Float, nullable=False),
    # Migration 0009: a customer belongs to one account (NULL for operators).
    Column("account_id", Integer, ForeignKey("accounts.id", name="web_users_account")),
    Index("web_users_login", "kind", "login", unique=True),
    Index("web_users_by_account", "account_id"),
)

# Server-side sessions: the cookie holds a random token, the row its SHA-256.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("web_users.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("ip", String(64), nullable=False, server_default=text("''")),
    Column("created_at", Float, nullable=False),
    Column("seen_at", Float, nullable=False),
    Column("revoked", Boolean, nullable=False, server_default=text("FALSE")),
    Index("web_sessions_by_user", "user_id"),
)

# Sign-in throttling: failures per key (kind:login, or ip:ADDRESS) in a window, a lock.
web_signin_failures = Table(
    "web_signin_failures",
    metadata,
    Column("key", String(160), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", Float, nullable=False),
    Column("locked_until", Float, nullable=False, server_default=text("0")),
)

# Who changed what through a web face: actor, action, target, before/after (JSON), client IP.
web_audit = Table(
    "web_audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", Float, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("action", String(48), nullable=False),
    Column("target", String(128), nullable=False, server_default=text("''")),
    Column("before", Text, nullable=False, server_default=text("''")),
    Column("after", Text, nullable=False, server_default=text("''")),
    Column("ip", String(64), nullable=False, server_default=text("''")),
    Index("web_audit_by_time", "at"),
)


# Sign-ups of the user center (migration 0009): a voice code called to ``mobile``; the
# form's token is kept as its SHA-256; limits count rows per number and per IP.
signups = Table(
    "signups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False),
    Column("mobile", String(32), nullable=False),
    Column("ip", String(64), nullable=False, server_default=text("''")),
    Column("voiceid", String(24), nullable=False, server_default=text("''")),
    Column("state", String(16), nullable=False),  # calling | done | failed
    Column("account_id", Integer, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("done_at", Float, nullable=False, server_default=text("0")),
    Index("signups_token", "token_hash", unique=True),
    Index("signups_by_mobile", "mobile", "created_at"),
    Index("signups_by_ip", "ip", "created_at"),
)

# Enterprise certification requests (migration 0009); the licence file lives on disk
# under the data directory (file_ref), outside any served path.
certifications = Table(
    "certifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("company", Text, nullable=False),
    Column("uscc", String(18), nullable=False),  # unified social credit code
    Column("contact_name", Text, nullable=False),
    Column("contact_phone", String(32), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("file_type", String(64), nullable=False),
    Column("file_size", Integer, nullable=False),
    Column("file_ref", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # pending | approved | rejected
    Column("reason", Text, nullable=False, server_default=text("''")),
    Column("submitted_by", String(64), nullable=False),
    Column("submitted_at", Float, nullable=False),
    Column("decided_by", String(64), nullable=False, server_default=text("''")),
    Column("decided_at", Float, nullable=False, server_default=text("0")),
    Index("certifications_by_account", "account_id", "id"),
    Index("certifications_by_state", "state", "submitted_at"),
)


# Voice-notification templates (migration 0010): filed by a customer (user center) or an
# operator, approved or rejected by an operator with a reason. ``text`` uses 【变量】 and
# {name} / {name:N} placeholders (protocol/notice.py); ``var_max`` is the default length
# limit of its variables. state: pending | approved | rejected.
notice_templates = Table(
    "notice_templates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("var_max", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=False, server_default=text("''")),
    Column("submitted_by", String(64), nullable=False),
    Column("submitted_at", Float, nullable=False),
    Column("decided_by", String(64), nullable=False, server_default=text("''")),
    Column("decided_at", Float, nullable=False, server_default=text("0")),
    # how many times its notices are said (1-3), with a pause between (migration 0012)
    Column("play_times", Integer, nullable=False, server_default=text("1")),
    Index("notice_templates_by_account", "account_id", "state"),
    Index("notice_templates_by_state", "state", "submitted_at"),
)

# An operator's recording of one fixed part of a template (``part``: its index among the
# template's fixed parts, 0 = the text before the first variable), said instead of
# espeak-ng's rendering. ``file_ref`` names the 8 kHz mono 16-bit PCM under
# <data_dir>/uploads (store/files.py); ``kind`` is the container it came in.
template_recordings = Table(
    "template_recordings",
    metadata,
    Column("template_id", Integer, ForeignKey("notice_templates.id"), primary_key=True),
    Column("part", Integer, primary_key=True),
    Column("file_ref", String(32), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("uploaded_by", String(64), nullable=False),
    Column("uploaded_at", Float, nullable=False),
)
