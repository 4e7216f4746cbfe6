"""The user center's face (web/face.py): customers, mounted at ``/user``; what every
user-center page imports. A customer reaches only their own account: no route takes an
account from the request, every read is by ``page.user.account_id``."""

from __future__ import annotations

from pathlib import Path

from voiceotp.store import AccountRecord
from voiceotp.web.face import SELF, Face, Page

__all__ = ["BASE", "FACE", "KIND", "OWNER", "SELF", "Page", "account_of", "redirect", "view"]

BASE = "/user"
KIND = "customer"
OWNER = "owner"

FACE = Face(
    base=BASE,
    kind=KIND,
    title="voiceotp user center",
    cookie="voiceotp_user",
    template_dir=Path(__file__).parent / "templates",
    roles=(OWNER,),
)
view = FACE.view
redirect = FACE.redirect


async def account_of(page: Page) -> AccountRecord:
    """The signed-in customer's own account (a customer user always has one)."""
    assert page.user is not None
    assert page.user.account_id is not None
    name = await page.store.account_name(page.user.account_id)
    account = await page.store.get_account(name or "")
    assert account is not None, "a customer's account is never deleted"
    return account
