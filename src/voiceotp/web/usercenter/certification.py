"""企业认证: the customer asks for enterprise certification — company, unified social
credit code (its check character verified), a contact and the business licence (JPEG, PNG
or PDF, checked by content: web/filetypes.py; stored outside every served path:
web/uploads.py). An operator decides in the console (web/console/certifications.py);
approval lifts the trial restrictions. One request pending at a time; none once approved.
"""

from __future__ import annotations

import asyncio
import re

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from voiceotp.errors import WebInputError
from voiceotp.store import usercenter as uc_db
from voiceotp.web.filetypes import EXTENSIONS, sniff_document
from voiceotp.web.uploads import clean_file_name, delete_upload, save_upload
from voiceotp.web.usercenter.core import FACE, SELF, Page, account_of, redirect, view
from voiceotp.web.usercenter.uscc import is_valid_uscc, normalise_uscc

__all__ = ["MESSAGES", "certification_page", "submit_certification", "upload_limit"]

FORM_ALLOWANCE = 64 * 1024  # the text fields and the multipart framing around the file
_PHONE = re.compile(r"\+?[0-9][0-9 -]{4,19}")

NO_COMPANY = "Enter the company name as on the business licence (at most 100 characters)."
BAD_USCC = "The unified social credit code is not valid: 18 characters, check the last one."
NO_CONTACT = "Enter the contact's name (at most 50 characters)."
BAD_PHONE = "Enter the contact's phone number (digits, at most 20)."
NO_FILE = "Choose the business licence file."
TOO_LARGE = "The file is larger than the limit shown on the form."
ALREADY_PENDING = "Your request is being reviewed; you cannot send another meanwhile."
ALREADY_APPROVED = "Your account is already certified."
MESSAGES = (
    NO_COMPANY, BAD_USCC, NO_CONTACT, BAD_PHONE, NO_FILE, TOO_LARGE, ALREADY_PENDING,
    ALREADY_APPROVED,
)  # fmt: skip


def upload_limit(request: Request) -> int:
    """The most bytes a certification form may have (the face refuses more, unread)."""
    max_upload: int = request.app.state.gateway.settings.user_center.max_upload_bytes
    return max_upload + FORM_ALLOWANCE


@view(SELF)
async def certification_page(page: Page) -> Response:
    """The state of the account's latest request, the operator's reason, and the form
    when the customer may (still) ask."""
    return await _render(page, flash="sent" in page.request.query_params)


@FACE.upload_view(SELF, max_files=1, max_body=upload_limit)
async def submit_certification(page: Page) -> Response:
    assert page.user is not None
    account = await account_of(page)
    latest = await uc_db.latest_certification(page.store, account_id=account.id)
    if latest is not None and latest.state in (uc_db.PENDING, uc_db.APPROVED):
        pending = latest.state == uc_db.PENDING
        return await _render(page, 409, ALREADY_PENDING if pending else ALREADY_APPROVED)
    try:
        company, uscc, contact, phone = _fields(page)
        data, name = await _licence(page)
        kind = await asyncio.to_thread(sniff_document, data)
    except WebInputError as exc:
        return await _render(page, 400, str(exc))
    data_dir = page.gateway.settings.data_dir
    ref = await asyncio.to_thread(save_upload, data_dir, data)
    file_name = clean_file_name(name, EXTENSIONS[kind])
    cert_id = await uc_db.submit_certification(
        page.store, account_id=account.id, company=company, uscc=uscc, contact_name=contact,
        contact_phone=phone, file_name=file_name, file_type=kind, file_size=len(data),
        file_ref=ref, submitted_by=page.user.login, now=page.gateway.clock(),
    )  # fmt: skip
    if cert_id is None:  # another request got in first
        await asyncio.to_thread(delete_upload, data_dir, ref)
        return await _render(page, 409, ALREADY_PENDING)
    await page.audit(
        "customer.certification_submit", account.name, "",
        {"id": cert_id, "company": company, "uscc": uscc, "file_type": kind, "size": len(data)},
    )  # fmt: skip
    return redirect("/certification?sent=1")


def _fields(page: Page) -> tuple[str, str, str, str]:
    company, contact = page.field("company"), page.field("contact_name")
    uscc, phone = normalise_uscc(page.field("uscc")), page.field("contact_phone")
    if not 0 < len(company) <= 100:
        raise WebInputError(NO_COMPANY)
    if not is_valid_uscc(uscc):
        raise WebInputError(BAD_USCC)
    if not 0 < len(contact) <= 50:
        raise WebInputError(NO_CONTACT)
    if not _PHONE.fullmatch(phone):
        raise WebInputError(BAD_PHONE)
    return company, uscc, contact, phone


async def _licence(page: Page) -> tuple[bytes, str]:
    """The file's bytes (at most the limit: never more read) and the client's name for it."""
    assert page.form is not None
    upload = page.form.get("licence")
    if not isinstance(upload, UploadFile) or not upload.size:
        raise WebInputError(NO_FILE)
    limit = page.gateway.settings.user_center.max_upload_bytes
    if upload.size > limit:
        raise WebInputError(TOO_LARGE)
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise WebInputError(TOO_LARGE)
    return data, upload.filename or ""


async def _render(page: Page, status: int = 200, error: str = "", flash: bool = False) -> Response:
    account = await account_of(page)
    latest = await uc_db.latest_certification(page.store, account_id=account.id)
    may_ask = latest is None or latest.state == uc_db.REJECTED
    return page.render(
        "certification.html", status_code=status, section="certification", account=account,
        certification=latest, may_ask=may_ask, error=error, flash=flash,
        limit_mb=page.gateway.settings.user_center.max_upload_bytes / (1024 * 1024),
        form={k: page.field(k)[:100] for k in ("company", "uscc", "contact_name", "contact_phone")},
    )  # fmt: skip
