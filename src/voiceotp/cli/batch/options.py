"""The options and help text of ``voiceotp batch`` (the command itself: command.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from voiceotp.cli.batch.checks import check_encoding
from voiceotp.client.batch import InputFormat

F = TypeVar("F", bound=Callable[..., Any])

EPILOG = """\b
Examples:
  voiceotp batch numbers.csv                   # journal: numbers.journal
  voiceotp batch numbers.csv --dry-run         # validate, dedupe, count, cost, check the balance
  voiceotp batch numbers.csv -c 20 --rate 50 --results out.jsonl --failed retry.csv
  cat numbers.txt | voiceotp batch - --journal today.journal --length 4
  voiceotp batch --resume numbers.journal      # after Ctrl-C, a crash or an account stop
  voiceotp batch --resume numbers.journal --replay-unknown --dedupe   # voiceotp gateway only
  voiceotp batch notices.csv --notice          # voice notices: number,content per row
  voiceotp batch parcels.csv --template-id 3   # notices of template 3: number,value1,value2…

\b
Input: CSV (header mobile/phone/手机号 and code/content/验证码, or no header: number, code),
JSONL ({"mobile": ..., "code": ...}), or one number per line; "-" reads standard input.
Rows without a code get a random one (--length digits, from `secrets`); the results
file holds them only with --show-codes. Credentials as for `voiceotp send`: VOICEOTP_ACCOUNT
and VOICEOTP_APIKEY, or the config file.

\b
Voice notices (语音通知, docs/notices.md): --notice reads number and text (CSV header
mobile,content; JSONL {"mobile": ..., "content": ...}); --template-id N reads number and
the template's values (CSV: the columns after the number, or a vars column "a|b"; JSONL
"vars": [...]). They go to the notification endpoint (--notify-url, default beside
--base-url: …/vm/webservice/voice.php, or api.vm.ihuyi.com) with the VM account's key.
A number is a duplicate only with the same content. Refusals (4071, 4072 with what failed,
40722, 4073, 4082) are per row, in the results file.

\b
Exit codes: 0 all sent; 1 some rows failed or were rejected; 2 usage error; 3 configuration
error; 4 stopped on an account-level code (fix the account, then --resume) or, with --dry-run,
balance too low; 5 the journal or an output file could not be written; 6 some outcomes
unknown (calls may have been placed); 7 the service was unreachable or its answers
unreadable: the run stopped, or rows could not connect and stay pending (resume later),
or --dry-run could not ask the balance; 130 interrupted. Precedence: 130, 4, 7, 6, 5, 1.
"""


def batch_options(command: F) -> F:
    """Every option of ``voiceotp batch`` but the client's (``client_options``)."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


_OPTIONS: list[Callable[[Any], Any]] = [
    click.argument("input_path", metavar="[INPUT]", required=False),
    click.option(
        "--resume",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Continue a journal: where and as fast as its run sent (--concurrency, --rate,"
        " --max-attempts, --timeout), unless given again.",
    ),
    click.option(
        "--journal",
        "journal_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Journal to create (default: INPUT with suffix .journal).",
    ),
    click.option(
        "--format", "fmt", type=click.Choice([f.value for f in InputFormat]), default="auto"
    ),
    click.option(
        "--encoding",
        default="utf-8-sig",
        show_default=True,
        callback=check_encoding,
        help="e.g. gbk for Excel CSVs.",
    ),
    click.option(
        "--length",
        type=click.IntRange(4, 6),
        default=6,
        show_default=True,
        help="Digits of generated codes.",
    ),
    click.option("--allow-duplicates", is_flag=True, help="Send a number as often as it appears."),
    click.option(
        "--notice",
        is_flag=True,
        help="Send voice notices: each row a number (mobile or landline) and the notice's text.",
    ),
    click.option(
        "--template-id",
        type=click.IntRange(min=1),
        help="Send notices of this approved template: each row a number and its values.",
    ),
    click.option(
        "--notify-url",
        help="Notices: the notification endpoint (default: beside --base-url).",
    ),
    click.option(
        "-c", "--concurrency", type=click.IntRange(1, 1000), default=10, show_default=True
    ),
    click.option(
        "--rate", type=click.FloatRange(min=0.1), help="Requests per second (default: no cap)."
    ),
    click.option(
        "--max-attempts",
        type=click.IntRange(1, 10),
        default=3,
        show_default=True,
        help="Per row, while the service answers 0/4090 (nothing accepted).",
    ),
    click.option(
        "--results",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Results, .csv or .jsonl (default: <journal>.results.csv).",
    ),
    click.option(
        "--failed",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Refused rows as mobile,code input (default: <journal>.failed.csv).",
    ),
    click.option(
        "--rejects",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Invalid input rows and why (default: <journal>.rejects.csv).",
    ),
    click.option(
        "--show-numbers", is_flag=True, help="Full numbers in the results file (then mode 0600)."
    ),
    click.option(
        "--show-codes",
        "--show-content",
        "show_codes",
        is_flag=True,
        help="Add each row's spoken code to the results file (column spoken_code; the file is"
        " then mode 0600): how an app learns the generated codes it must check. Notices:"
        " the content sent (column content).",
    ),
    click.option(
        "--dry-run", is_flag=True, help="Validate, count and check the balance; send nothing."
    ),
    click.option(
        "--price",
        type=click.FloatRange(min=0),
        help="Price of one call, for the dry run's cost estimate.",
    ),
    click.option("--no-balance", is_flag=True, help="Dry run: do not ask the service (GetNum)."),
    click.option(
        "--replay-unknown", is_flag=True, help="Replay unknowns exactly (needs --dedupe)."
    ),
    click.option("--resend-unknown", is_flag=True, help="Send unknowns again (may call twice)."),
    click.option(
        "--fsync/--no-fsync",
        default=True,
        show_default=True,
        help="Sync every journal commit to disk. --no-fsync is faster and still never sends twice"
        " after a killed process, but not after a power cut.",
    ),
    click.option(
        "--retarget",
        is_flag=True,
        help="Resume: send the rest to this --base-url/--account, not where the run started.",
    ),
    click.option("--progress/--no-progress", default=True, show_default=True),
]
