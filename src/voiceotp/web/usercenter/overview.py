"""产品总览: the account at a glance — APIID, trial state, balance, calls today and this
month, the API endpoint."""

from __future__ import annotations

import time

from starlette.responses import Response

from voiceotp.gateway.api.wsdl import service_location
from voiceotp.gateway.app import VOICE_PATH
from voiceotp.store import usercenter as uc_db
from voiceotp.web.usercenter.core import SELF, Page, account_of, view

__all__ = ["overview_page"]


@view(SELF)
async def overview_page(page: Page) -> Response:
    account = await account_of(page)
    now = page.gateway.clock()
    local = time.localtime(now)
    day = time.mktime((local.tm_year, local.tm_mon, local.tm_mday, 0, 0, 0, 0, 0, -1))
    month = time.mktime((local.tm_year, local.tm_mon, 1, 0, 0, 0, 0, 0, -1))
    today, this_month = await uc_db.call_counts(
        page.store, account_id=account.id, since=(day, month)
    )
    certification = await uc_db.latest_certification(page.store, account_id=account.id)
    return page.render(
        "overview.html",
        section="overview",
        account=account,
        today=today,
        this_month=this_month,
        certification=certification,
        endpoint=endpoint_url(page),
        welcome="welcome" in page.request.query_params,
    )


def endpoint_url(page: Page) -> str:
    """The ihuyi endpoint of this gateway: ``public_url``, else the address the
    connection reached (as the WSDL names it; never the Host header)."""
    scope = {**page.request.scope, "path": VOICE_PATH}
    return service_location(scope, page.gateway.settings)
