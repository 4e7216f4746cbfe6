"""Languages of the web faces: 中文 (default) and English.

Templates and code write English text through ``t("…")``; :data:`ZH` translates it.
English is the source, so its catalog is the identity; a test checks that every
``t("…")`` in the templates and the code has a Chinese entry.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "ZH", "translator"]

DEFAULT_LANGUAGE = "zh"
LANGUAGES = {"zh": "中文", "en": "English"}

ZH: dict[str, str] = {
    # layout and navigation
    "voiceotp console": "voiceotp 控制台",
    "Dashboard": "概览",
    "Accounts": "账户",
    "Call records": "呼叫记录",
    "Server rules": "服务器规则",
    "Audit log": "审计日志",
    "Sign out": "退出登录",
    "Language": "语言",
    "Signed in as": "当前用户",
    "Skip to content": "跳到正文",
    # sign-in
    "Sign in": "登录",
    "Login": "用户名",
    "Password": "密码",
    "One-time code": "一次性验证码",
    "Wrong login or password.": "用户名或密码错误。",
    "Too many failed attempts. Try again later.": "失败次数过多，请稍后再试。",
    "Enter the one-time code from your authenticator app.": "请输入身份验证器应用中的一次性验证码。",
    "Your session has ended. Please sign in again.": "会话已结束，请重新登录。",
    "No operator exists yet. Create one on the server with:": "尚无操作员。请在服务器上运行以下命令创建：",
    # errors
    "Forbidden": "禁止访问",
    "Your role cannot do this.": "您的角色无权执行此操作。",
    "The request was refused (missing or wrong security token). Reload the page and try again.": "请求被拒绝（安全令牌缺失或错误）。请刷新页面后重试。",
    "Not found": "未找到",
    "Refused": "已拒绝",
    "Back": "返回",
    # accounts
    "Account": "账户",
    "Balance": "余额",
    "State": "状态",
    "Search": "搜索",
    "Sort": "排序",
    "Create account": "创建账户",
    "Opening balance": "初始余额",
    "Name (optional)": "名称（可选）",
    "active": "正常",
    "frozen": "已冻结",
    "abuse_frozen": "滥用冻结",
    "Top up": "充值",
    "Deduct": "扣减",
    "Units": "数量",
    "Reason": "原因",
    "Ledger": "账目",
    "Change": "变动",
    "Time": "时间",
    "Freeze": "冻结",
    "Unfreeze": "解冻",
    "Clear abuse freeze": "解除滥用冻结",
    "Abuse detector evidence": "滥用检测证据",
    "Settings": "设置",
    "Submits per second (empty: server default)": "每秒提交数（留空：服务器默认）",
    "Codes per number per minute": "每号码每分钟条数",
    "Codes per number per hour": "每号码每小时条数",
    "Codes per number per day": "每号码每天条数",
    "Allowed IPs (one per line, empty: any)": "允许的 IP（每行一个，留空：任意）",
    "Callback URL": "回调地址",
    "Charge policy": "计费策略",
    "Server default": "服务器默认",
    "Refund calls that never connected": "未接通的呼叫退款",
    "Keep the unit for calls that never connected": "未接通的呼叫不退款",
    "Dynamic passwords only": "仅允许动态密码",
    "Save": "保存",
    "Blacklist": "黑名单",
    "Mobile": "手机号",
    "Add": "添加",
    "Remove": "移除",
    "APIKEY": "APIKEY",
    "Rotate APIKEY": "更换 APIKEY",
    "Your password (to confirm)": "您的密码（确认身份）",
    "New APIKEY, shown once:": "新 APIKEY（仅显示一次）：",
    "Account created. Its APIKEY, shown once:": "账户已创建。APIKEY（仅显示一次）：",
    "Saved.": "已保存。",
    "Wrong password.": "密码错误。",
    "Recent changes": "最近变更",
    "none": "无",
    "Default": "默认",
    # calls
    "Voice ID": "语音ID",
    "Status": "状态",
    "From": "开始",
    "To": "结束",
    "Any": "全部",
    "Next page": "下一页",
    "Export CSV": "导出 CSV",
    "Submitted": "提交",
    "Queued": "排队",
    "Dialing": "拨号",
    "Ringing": "振铃",
    "Answered": "接听",
    "Ended": "结束",
    "Timeline": "时间线",
    "Attempt": "尝试",
    "SIP code": "SIP 码",
    "Q.850 cause": "Q.850 原因",
    "Dialer": "拨号器",
    "Duration": "时长",
    "Push attempts": "推送记录",
    "HTTP status": "HTTP 状态",
    "Note": "备注",
    "What the callee heard": "被叫听到的内容",
    "No recording of this call.": "此呼叫没有录音。",
    "Carrier recording": "运营商录音",
    "Rendered prompt": "按设置合成的语音",
    "Code": "验证码",
    "No calls match.": "没有符合条件的呼叫。",
    "Full-number searches are written to the audit log.": "完整号码搜索会记录到审计日志。",
    # dashboard
    "Last hour": "最近一小时",
    "Last day": "最近一天",
    "Last week": "最近一周",
    "Accepted calls": "已受理呼叫",
    "Call outcomes": "呼叫结果",
    "Answer rate": "接通率",
    "Submit to answer (p50 / p95)": "提交到接听（p50 / p95）",
    "Calls in flight": "进行中的呼叫",
    "Queue backlog": "队列积压",
    "Push outbox": "待推送",
    "Accounts near zero balance": "余额将尽的账户",
    "Frozen accounts": "冻结的账户",
    "Submits by answer code (since start)": "按应答码统计的提交（自启动）",
    "Submits per second": "每秒提交数",
    # rules
    "Denied IPs": "禁止的 IP",
    "Global blacklist": "全局黑名单",
    "Sensitive words": "敏感词",
    "Value": "值",
    # audit
    "Who": "操作人",
    "Action": "操作",
    "Target": "对象",
    "Before": "之前",
    "After": "之后",
    "Client IP": "客户端 IP",
}


def translator(language: str) -> Callable[[str], str]:
    """``t(text)`` for ``language`` (unknown text: itself, so a gap shows in English)."""
    if language == "zh":
        return lambda text: ZH.get(text, text)
    return lambda text: text
