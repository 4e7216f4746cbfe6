"""Enterprise certification requests (企业认证) and sign-ups of the user center: support
reads them, an admin approves (the account leaves its trial) or rejects with a reason.
A licence file is served to operators only, as an attachment that no browser renders or
sniffs (docs/console.md)."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from starlette.responses import Response

from voiceotp.store import usercenter as uc_db
from voiceotp.web.console.core import ADMIN, SUPPORT, Page, redirect, refusal, view
from voiceotp.web.filetypes import EXTENSIONS
from voiceotp.web.uploads import read_upload

__all__ = ["MESSAGES", "certification_file", "certifications_page", "decide", "signups_page"]

NO_REASON = "A rejection needs a reason for the customer (at most 500 characters)."
BAD_OP = "Choose approve or reject."
DECIDED = "This request was already decided."
APPROVED, REJECTED = "Approved: the account may now call any number.", "Rejected."
MESSAGES = (NO_REASON, BAD_OP, DECIDED, APPROVED, REJECTED)
FILE_HEADERS = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
}


@view(SUPPORT)
async def certifications_page(page: Page) -> Response:
    """Every request, pending first, with what the customer sent."""
    done = page.request.query_params.get("done", "")
    flash = {"approved": APPROVED, "rejected": REJECTED}.get(done, "")
    return await _list(page, flash=flash)


async def _list(page: Page, *, status: int = 200, flash: str = "", error: str = "") -> Response:
    requests = await uc_db.list_certifications(page.store)
    names = await uc_db.account_names(page.store, ids={c.account_id for c in requests})
    return page.render(
        "certifications.html", status_code=status, section="certifications",
        requests=requests, names=names, flash=flash, error=error,
    )  # fmt: skip


@view(ADMIN)
async def decide(page: Page) -> Response:
    """Approve, or reject with a reason; once per request."""
    assert page.user is not None
    cert = await _certification(page)
    if cert is None:
        return refusal(page, 404, "Not found", "Not found")
    op, reason = page.field("op"), page.field("reason")
    if op not in ("approve", "reject"):
        return await _list(page, status=400, error=BAD_OP)
    approve = op == "approve"
    if not approve and not 0 < len(reason) <= 500:
        return await _list(page, status=400, error=NO_REASON)
    decided = await uc_db.decide_certification(
        page.store, cert_id=cert.id, approve=approve, reason="" if approve else reason,
        by=page.user.login, now=page.gateway.clock(),
    )  # fmt: skip
    if decided is None:
        return await _list(page, status=409, error=DECIDED)
    if approve:  # this process at once; the others within their refresh
        await page.gateway.directory.refresh_if_changed()
    name = (await page.store.account_name(cert.account_id)) or str(cert.account_id)
    await page.audit(
        f"certification.{decided.state}", name, {"id": cert.id, "state": cert.state},
        {"id": cert.id, "state": decided.state, "reason": decided.reason},
    )  # fmt: skip
    return redirect(f"/certifications?done={decided.state}")


@view(SUPPORT)
async def certification_file(page: Page) -> Response:
    """The licence file: its sniffed type, as an attachment, sandboxed, never sniffed."""
    cert = await _certification(page)
    data = None
    if cert is not None:
        data = await asyncio.to_thread(read_upload, page.gateway.settings.data_dir, cert.file_ref)
    if cert is None or data is None:
        return refusal(page, 404, "Not found", "Not found")
    kind = cert.file_type if cert.file_type in EXTENSIONS else "application/octet-stream"
    fallback = f"licence-{cert.id}.{EXTENSIONS.get(kind, 'bin')}"
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(cert.file_name)}"
    await page.audit("certification.file", (await page.store.account_name(cert.account_id)) or "")
    return Response(
        data, media_type=kind, headers={"content-disposition": disposition, **FILE_HEADERS}
    )


async def _certification(page: Page) -> uc_db.Certification | None:
    raw = page.request.path_params["cert_id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        return None
    return await uc_db.get_certification(page.store, cert_id=int(raw))


@view(SUPPORT)
async def signups_page(page: Page) -> Response:
    """The latest sign-up calls of the user center (numbers masked)."""
    signups = await uc_db.list_signups(page.store, limit=200)
    ids = {s.account_id for s in signups if s.account_id is not None}
    names = await uc_db.account_names(page.store, ids=ids)
    return page.render("signups.html", section="signups", signups=signups, names=names)
