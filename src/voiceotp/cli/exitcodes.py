"""The exit codes of every ``voiceotp`` command, defined once (docs/client.md, docs/batch.md,
docs/gateway.md): the tables in the docs and the commands' ``--help`` describe these."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a ``voiceotp`` process exits with."""

    OK = 0
    REFUSED = 1  # the service refused a request or number (not account-level); batch: rows failed
    USAGE = 2  # usage error, or a number/code refused locally
    CONFIG = 3  # configuration error (credentials, config file, settings)
    LISTEN_FAILED = 3  # serve/dialer: the address cannot be bound (uvicorn's own status)
    ACCOUNT = 4  # account-level refusal: fix the account
    FAILED = 5  # no usable answer where no call can have been placed; batch: files/journal
    UNKNOWN = 6  # a call may have been placed: do not simply re-send
    UNREACHABLE = 7  # batch: the service could not be used; rows stay pending
    INTERRUPTED = 130  # Ctrl-C, as a shell reports a command killed by SIGINT
