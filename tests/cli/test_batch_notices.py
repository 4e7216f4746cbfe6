"""``voiceotp batch --notice`` / ``--template-id``: voice notices from CSV/JSONL through the
code batch's engine and journal, against FakeIhuyi's notification product over HTTP."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.test_batch import read_csv, run, states
from voiceotp.protocol.notice import notice_url
from voiceotp.testing import DEFAULT_ACCOUNT, FakeIhuyi

PARCEL = "您的快递【变量】已到达{station:6},请凭取件码{code:6}取件。"
BILL = "尊敬的客户,您本月话费{amount:10}元,请按时缴纳。"


def filled(no: str, station: str, code: str) -> str:
    return f"您的快递{no}已到达{station},请凭取件码{code}取件。"


def journal_items(journal: Path) -> list[tuple[str, str, int | None, str | None]]:
    with sqlite3.connect(journal) as conn:
        sql = "SELECT mobile, state, result_code, msg FROM items ORDER BY row"
        return conn.execute(sql).fetchall()


def test_full_texts_are_sent_to_the_notice_product_and_refusals_reported_per_row(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    fake.add_template(PARCEL)
    fake.script("13800130005", 4082)  # the per-number daily cap
    rows = [
        ("13800130001", filled("SF1", "人民路站", "8812")),  # sent
        ("021-5129 0000", filled("SF2", "东站", "1111")),  # a landline: sent
        ("13800130003", "您的包裹SF3已到达东站,请取件。"),  # no template fits: 4072
        ("13800130004", filled("SF4", "一个很长的站名啊", "2222")),  # station over 6: 40722
        ("13800130005", filled("SF5", "东站", "3333")),  # 4082
        ("13800130001", filled("SF1", "人民路站", "8812")),  # the same notice: skipped
        ("13800130001", filled("SF9", "东站", "9999")),  # another notice, same number: sent
        ("12345", filled("SF6", "东站", "4444")),  # rejected locally
        ("13800130007", "长" * 181),  # over 180 characters: rejected locally (4073)
        ("13800130008", "您的快递SF8已到达东站。"),  # 4072 again, failing elsewhere
    ]
    Path("in.csv").write_text(
        "mobile,content\n" + "".join(f'{m},"{c}"\n' for m, c in rows), encoding="utf-8"
    )
    result = run(env, "in.csv", "--notice", "--json", "--show-content")
    assert result.exit_code == 1, result.output  # some rows failed or were rejected
    doc = json.loads(result.stdout)
    assert doc["counts"] == {
        "pending": 0,
        "sending": 0,
        "sent": 3,
        "failed": 4,
        "unknown": 0,
        "skipped": 1,
        "rejected": 2,
    }
    assert doc["files"]["results"] == "in.results.csv"
    mismatch = next(entry for entry in doc["codes"] if entry["code"] == 4072)
    assert (mismatch["rows"], mismatch["msg"]) == (2, "提交的语音内容必须与报备过的模板格式相匹配")
    assert fake.spoken_notice("02151290000") == filled("SF2", "东站", "1111")
    assert fake.spoken_notice("13800130001") == filled("SF9", "东站", "9999")
    results = read_csv(Path("in.results.csv"))
    by_row = {int(r["row"]): r for r in results}
    assert by_row[3]["code"] == "4072"
    assert "之后应为" in by_row[3]["msg"] or "开头应为" in by_row[3]["msg"]  # what failed
    assert (by_row[4]["code"], by_row[4]["msg"]) == ("40722", "变量内容超过指定的长度【6】")
    assert by_row[10]["code"] == "4072"
    assert by_row[10]["msg"] != by_row[3]["msg"]  # each row says what failed for it
    assert by_row[5]["code"] == "4082"
    assert by_row[6]["reason"] == "duplicate of row 1"
    assert by_row[8]["reason"] == "invalid mobile or landline"
    assert "4073" in by_row[9]["reason"]
    assert by_row[1]["content"] == filled("SF1", "人民路站", "8812")
    failed = read_csv(Path("in.failed.csv"))
    assert list(failed[0]) == ["mobile", "content"]  # input for another notice run
    assert [f["mobile"] for f in failed] == [
        "13800130003",
        "13800130004",
        "13800130005",
        "13800130008",
    ]
    wide = env | {"COLUMNS": "200"}
    table = run(wide, "--resume", "in.journal").output  # sends nothing more: the summary
    assert "the message differs per row: see the results file" in table


def test_no_template_at_all_is_4071_per_row(env: dict[str, str], fake: FakeIhuyi) -> None:
    Path("in.jsonl").write_text(
        json.dumps({"mobile": "13800130001", "content": filled("SF1", "东站", "1")}) + "\n",
        encoding="utf-8",
    )
    result = run(env, "in.jsonl", "--notice", "--json")
    assert result.exit_code == 1, result.output
    assert journal_items(Path("in.journal")) == [
        ("13800130001", "failed", 4071, "没有提交备案模板")
    ]


def test_template_values_from_csv_columns_and_jsonl(env: dict[str, str], fake: FakeIhuyi) -> None:
    parcel = fake.add_template(PARCEL)
    bill = fake.add_template(BILL)
    Path("p.csv").write_text(
        "手机号,单号,站点,取件码\n13800130001,SF1,东站,8812\n13800130002,SF2,人民路站,1234\n"
        "13800130003,SF3,东站\n",  # a value missing: rejected before sending
        encoding="utf-8",
    )
    result = run(env, "p.csv", "--template-id", str(parcel), "--json")
    assert result.exit_code == 1, result.output
    assert fake.spoken_notice("13800130001") == filled("SF1", "东站", "8812")
    assert fake.spoken_notice("13800130002") == filled("SF2", "人民路站", "1234")
    assert [state for _, state, _, _ in journal_items(Path("p.journal"))] == [
        "sent",
        "sent",
        "rejected",
    ]
    assert "13800130003" not in [call.mobile for call in fake.calls]
    lines = [
        {"mobile": "13900000001", "vars": ["58.50"]},
        {"mobile": "13900000002", "vars": "12.00"},
        {"mobile": "13900000003", "vars": ["1|2"]},  # cannot be sent: | separates values
        {"mobile": "13900000004"},
    ]
    Path("b.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    result = run(env, "b.jsonl", "--template-id", str(bill), "--json")
    assert result.exit_code == 1, result.output
    assert fake.spoken_notice("13900000001") == "尊敬的客户,您本月话费58.50元,请按时缴纳。"
    assert fake.spoken_notice("13900000002") == "尊敬的客户,您本月话费12.00元,请按时缴纳。"
    assert states(Path("b.journal")) == {"sent": 2, "rejected": 2}


def test_a_resume_sends_notices_as_its_journal_says_and_refuses_another_kind(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    parcel = fake.add_template(PARCEL)
    Path("p.csv").write_text("13800130001,SF1,东站,8812\n", encoding="utf-8")
    Path("codes.csv").write_text("13800130009,1234\n", encoding="utf-8")
    run(env, "codes.csv", "--dry-run", "--no-balance", "--journal", "codes.journal")
    result = run(env, "--resume", "codes.journal", "--notice")
    assert result.exit_code == 2
    assert "holds codes" in result.output
    run(env, "p.csv", "--template-id", str(parcel), "--dry-run", "--journal", "p.journal")
    result = run(env, "--resume", "p.journal", "--notice")
    assert result.exit_code == 2
    assert "values of template" in result.output
    result = run(env, "--resume", "p.journal", "--json")
    assert result.exit_code == 0, result.output
    assert fake.spoken_notice("13800130001") == filled("SF1", "东站", "8812")
    doc = json.loads(result.stdout)
    assert doc["counts"]["sent"] == 1
    with sqlite3.connect("p.journal") as conn:
        (target,) = conn.execute("SELECT value FROM meta WHERE key = 'target'").fetchone()
    assert json.loads(target)["base_url"].endswith("/vm/webservice/voice.php")
    assert json.loads(target)["account"] == DEFAULT_ACCOUNT


def test_dry_run_asks_the_notice_products_balance(env: dict[str, str], fake: FakeIhuyi) -> None:
    Path("in.csv").write_text("13800130001,您好\n13800130002,您好\n", encoding="utf-8")
    result = run(env, "in.csv", "--notice", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["to_send"], doc["balance"]) == (2, 1000)
    assert fake.received == {}  # no Submit


def test_a_notice_batch_needs_more_than_numbers(env: dict[str, str]) -> None:
    Path("in.txt").write_text("13800130001\n13800130002\n", encoding="utf-8")
    result = run(env, "in.txt", "--notice")
    assert result.exit_code == 2
    assert "needs CSV or JSONL" in result.output
    result = run(env, "in.txt", "--notice", "--template-id", "3")
    assert result.exit_code == 2
    assert "exclude each other" in result.output


def test_a_resume_keeps_its_notify_url_unless_retargeted(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    fake.add_template(PARCEL)
    fake.script("13800130002", 4051)  # an account code: the run stops, the row stays pending
    Path("in.csv").write_text(
        f"13800130001,{filled('SF1', '东站', '1')}\n13800130002,{filled('SF2', '东站', '2')}\n",
        encoding="utf-8",
    )
    result = run(env, "in.csv", "--notice", "-c", "1")
    assert result.exit_code == 4, result.output
    elsewhere = "http://127.0.0.1:9/vm/webservice/voice.php"
    result = run(env, "--resume", "in.journal", "--notify-url", elsewhere)
    assert result.exit_code == 2
    assert "--notify-url says" in result.output
    assert "--retarget" in result.output
    result = run(env, "--resume", "in.journal", "--json")
    assert result.exit_code == 0, result.output
    assert fake.spoken_notice("13800130002") == filled("SF2", "东站", "2")


def test_notify_url_is_where_notices_go_whatever_the_base_url(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    fake.add_template(PARCEL)
    Path("in.csv").write_text(f"13800130001,{filled('SF1', '东站', '1')}\n", encoding="utf-8")
    notices = notice_url(env["VOICEOTP_BASE_URL"])
    dead = "http://127.0.0.1:9/webservice/voice.php"  # nothing listens there
    result = run(env, "in.csv", "--notice", "--base-url", dead, "--notify-url", notices)
    assert result.exit_code == 0, result.output
    assert fake.spoken_notice("13800130001") == filled("SF1", "东站", "1")
