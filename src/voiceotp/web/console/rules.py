"""Server rules (deny IPs, the global blacklist, sensitive words) and the audit log."""

from __future__ import annotations

from starlette.responses import Response

from voiceotp.errors import AdminError
from voiceotp.store.records import POLICY_KINDS
from voiceotp.store.web import list_audit
from voiceotp.web.console.core import ADMIN, SUPPORT, Page, redirect, view

__all__ = ["audit_page", "change_rule", "rules_page"]

KIND_LABELS = {
    "deny_ip": "Denied IPs",
    "blacklist": "Global blacklist",
    "sensitive_word": "Sensitive words",
}


@view(SUPPORT)
async def rules_page(page: Page) -> Response:
    policy = await page.admin.server_policy()
    changes = [e for e in await list_audit(page.store, limit=200) if e.action.startswith("rules.")]
    return page.render(
        "rules.html", section="rules", policy=policy, kinds=KIND_LABELS,
        changes=changes[:30], error="", flash="done" in page.request.query_params,
    )  # fmt: skip


@view(ADMIN)
async def change_rule(page: Page) -> Response:
    """Add or remove one entry; the audit row names the list, the value and the change."""
    kind, value, present = page.field("kind"), page.field("value"), page.field("op") != "remove"
    if kind not in POLICY_KINDS:
        return await _rules_error(page, "unknown list")
    before = (await page.admin.server_policy()).get(kind, [])
    try:
        await page.admin.set_server_entry(kind, value, present)
    except AdminError as exc:
        return await _rules_error(page, str(exc))
    after = (await page.admin.server_policy()).get(kind, [])
    await page.audit(f"rules.{'add' if present else 'remove'}", kind, before, after)
    return redirect("/rules?done=1")


async def _rules_error(page: Page, error: str) -> Response:
    policy = await page.admin.server_policy()
    return page.render(
        "rules.html", status_code=400, section="rules", policy=policy, kinds=KIND_LABELS,
        changes=[], error=error, flash=False,
    )  # fmt: skip


@view(SUPPORT)
async def audit_page(page: Page) -> Response:
    """Every change made in the console: who, what, before/after, from which IP."""
    before_text = page.request.query_params.get("before", "")
    before_id = int(before_text) if before_text.isdigit() and len(before_text) < 19 else None
    entries = await list_audit(page.store, limit=100, before_id=before_id)
    return page.render(
        "audit.html", section="audit", entries=entries,
        next_before=entries[-1].id if len(entries) == 100 else None,
    )  # fmt: skip
