"""发送记录: the account's own calls — filters (number, status, date range), keyset pages,
CSV export, one call's detail. The account is always the signed-in customer's
(``account_of``): a filter from the request narrows within it, never beyond, and another
account's voiceid is "not found" (the same answer as a voiceid that does not exist)."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from starlette.responses import Response

from voiceotp.protocol import is_valid_mobile
from voiceotp.store import console as q
from voiceotp.store.attempts import call_attempts
from voiceotp.store.console import CallFilter, CallRow
from voiceotp.store.records import FINAL_STATES
from voiceotp.web.csvexport import CALL_COLUMNS, call_records_csv
from voiceotp.web.usercenter.core import SELF, Page, account_of, view

__all__ = ["MESSAGES", "record_page", "records_csv", "records_page"]

STATES = ("queued", "dialing", *FINAL_STATES)
# What each status means, beside the code itself (the API's and the pushes' vocabulary).
STATE_LABELS = {
    "queued": "Queued", "dialing": "Dialing", "ANSWERED": "Answered", "BUSY": "Busy",
    "NO_ANSWER": "No answer", "REJECTED": "Rejected", "FAILED": "Failed",
    "EXPIRED": "Expired", "CANCELED": "Canceled", "RELAYED": "Relayed to an upstream",
}  # fmt: skip
PAGE_SIZE = 50
CSV_LIMIT = 100_000
BAD_MOBILE = "Enter a mainland China mobile number (11 digits, starting with 1)."
MESSAGES = (BAD_MOBILE,)


async def _filter(page: Page) -> tuple[CallFilter, dict[str, str], str]:
    """The search form as a filter on this customer's account, the form's values, and a
    message for a bad value."""
    account = await account_of(page)
    params = page.request.query_params
    form = {k: params.get(k, "").strip()[:20] for k in ("mobile", "state", "since", "until")}
    mobile = form["mobile"] or None
    if mobile is not None and not is_valid_mobile(mobile):
        return CallFilter(account_id=account.id, voiceid=-1), form, BAD_MOBILE
    since, until = _day(form["since"]), _day(form["until"])
    where = CallFilter(
        account_id=account.id,  # forced: never from the request
        mobile=mobile,
        state=form["state"] if form["state"] in STATES else None,
        since=since,
        until=None if until is None else until + 86_400,  # through the end of that day
    )
    return where, form, ""


def _day(text: str) -> float | None:
    """A date (YYYY-MM-DD) as the Unix time its day starts (server local time)."""
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time()).timestamp()
    except ValueError:
        return None


def _after(page: Page) -> int | None:
    text = page.request.query_params.get("after", "")
    return int(text) if text.isdigit() and len(text) < 19 else None


@view(SELF)
async def records_page(page: Page) -> Response:
    where, form, error = await _filter(page)
    rows = await q.search_calls(page.store, where=where, after=_after(page), limit=PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    query = urlencode({k: v for k, v in form.items() if v})
    return page.render(
        "records.html", section="records", rows=rows, form=form, states=STATES,
        labels=STATE_LABELS, error=error, query=query,
        next_after=rows[-1].voiceid if more and rows else None,
    )  # fmt: skip


@view(SELF)
async def records_csv(page: Page) -> Response:
    """The matching records as CSV (numbers masked, as on the page), in keyset pages."""
    where, _, _ = await _filter(page)
    await page.audit("customer.records_export", (await account_of(page)).name)

    columns = (("voiceid", _voiceid), *CALL_COLUMNS)
    return call_records_csv(page.store, where, columns=columns, name="records", limit=CSV_LIMIT)


def _voiceid(row: CallRow) -> object:
    return row.voiceid


@view(SELF)
async def record_page(page: Page) -> Response:
    """One of the account's calls: status, each dial attempt, its status pushes."""
    account = await account_of(page)
    call = await page.store.get_call(page.request.path_params["voiceid"])
    if call is None or call.account_id != account.id:
        return page.refusal(404, "Not found", "Not found")
    attempts = await call_attempts(page.store, voiceid=int(call.voiceid))
    push_log = await q.push_attempts(page.store, voiceid=int(call.voiceid))
    return page.render(
        "record.html",
        section="records",
        call=call,
        attempts=attempts,
        push_log=push_log,
        labels=STATE_LABELS,
    )
