"""``voiceotp notify``: one voice notification (语音通知), to a mobile or a landline.

The text must fill one of the account's approved templates (docs/notices.md); with
``--template-id`` CONTENT is that template's values separated by ``|``. Exit codes as
``send``'s (docs/client.md): 1 for any refusal (4071, 4072, ...), 6 when the answer was
lost (the notice may have been accepted).
"""

from __future__ import annotations

from typing import Any

import click

from voiceotp.cli.output import JsonCommand
from voiceotp.cli.send import EXIT_CODES, client_options
from voiceotp.cli.verify import GATEWAY, call_client, show_result
from voiceotp.client import Client
from voiceotp.protocol import SubmitResult

EXAMPLES = f"""\b
Examples:
  voiceotp notify 02151290000 "您的快递SF123已到达人民路站,请取件。" {GATEWAY}
  voiceotp notify 13800138000 "SF123|人民路站" --template-id 3 --json
  voiceotp notify 13800138000 "…" --notify-url https://api.vm.ihuyi.com/webservice/voice.php
  voiceotp batch parcels.csv --template-id 3   # many notices, crash-safe (see batch --help)

{EXIT_CODES}"""


@click.command(cls=JsonCommand, epilog=EXAMPLES)
@click.argument("mobile")
@click.argument("content")
@click.option("--template-id", help="CONTENT is this template's values, separated by |.")
@click.option(
    "--notify-url",
    help="The notification endpoint (default: beside --base-url: …/vm/webservice/voice.php,"
    " or api.vm.ihuyi.com for ihuyi).",
)
@client_options
def notify(
    mobile: str, content: str, template_id: str | None, notify_url: str | None, **opts: Any
) -> None:
    """Call MOBILE (a mobile or 区号+number) and read CONTENT, a notice filling an approved
    template."""

    def send(client: Client) -> SubmitResult:
        if notify_url:
            client.notify_url = notify_url
        return client.notify(mobile, content, template_id=template_id)

    show_result(call_client(opts, send), mobile, "accepted for", opts["as_json"])
