"""Template syntax and content matching of voice notifications (protocol/notice.py)."""

from __future__ import annotations

import pytest

from voiceotp.protocol.notice import (
    Match,
    Mismatch,
    TemplateSyntaxError,
    TooLong,
    fill_template,
    is_valid_callee,
    is_valid_landline,
    match_template,
    parse_template,
)

PARCEL = parse_template("您的快递【变量】已到达{station:12},请凭取件码{code:6}取件。", 3)
BIRTHDAY = parse_template("您的客户【变量】将于【变量】天后过生日,别忘记注意祝福哦~", 4)


def test_both_placeholder_styles_parse_with_their_limits() -> None:
    assert PARCEL.fixed == ("您的快递", "已到达", ",请凭取件码", "取件。")
    assert [(v.name, v.max_len) for v in PARCEL.variables] == [
        ("变量1", 8),
        ("station", 12),
        ("code", 6),
    ]
    assert parse_template("{a}到了", var_max=20).variables[0].max_len == 20


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("【变量】", "no fixed text"),
        ("您好【变量】{name}", "side by side"),
        ("{a}和{a}", "used twice"),
        ("{a:0}到了", "length"),
        ("x" * 301, "longer"),
    ],
)
def test_bad_templates_are_refused(text: str, why: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=why):
        parse_template(text)


def test_a_filled_template_matches_with_its_values() -> None:
    found = match_template("您的快递SF123已到达人民路站,请凭取件码8812取件。", [BIRTHDAY, PARCEL])
    assert isinstance(found, Match)
    assert found.template is PARCEL
    assert found.values == ("SF123", "人民路站", "8812")


def test_a_variable_over_its_limit_names_the_variable_and_limit() -> None:
    found = match_template("您的快递SF1234567890已到达人民路站,请凭取件码8812取件。", [PARCEL])
    assert isinstance(found, TooLong)
    assert (found.variable.name, found.variable.max_len, found.length) == ("变量1", 8, 12)


def test_a_mismatch_says_which_template_and_where_it_stopped() -> None:
    found = match_template("您的快递SF123已到站人民路,请取件。", [BIRTHDAY, PARCEL])
    assert isinstance(found, Mismatch)
    assert found.template is PARCEL  # the nearest: its opening text fits
    assert found.variable is not None
    assert found.variable.name == "变量1"
    assert found.expected == "已到达"
    assert found.describe() == "模板3:变量{变量1}之后应为「已到达」"
    opening = match_template("尊敬的客户", [PARCEL])
    assert isinstance(opening, Mismatch)
    assert opening.describe() == "模板3:开头应为「您的快递」"
    assert match_template("x", []) == Mismatch(None)


def test_empty_variables_do_not_match() -> None:
    found = match_template("您的快递已到达人民路站,请凭取件码8812取件。", [PARCEL])
    assert isinstance(found, Mismatch)


def test_fill_template_is_ihuyis_templateid_mode() -> None:
    assert fill_template(BIRTHDAY, ["张茜", "2"]) == "您的客户张茜将于2天后过生日,别忘记注意祝福哦~"
    assert isinstance(fill_template(BIRTHDAY, ["张茜"]), Mismatch)
    assert isinstance(fill_template(BIRTHDAY, ["张茜", ""]), Mismatch)
    too_long = fill_template(BIRTHDAY, ["张" * 9, "2"])
    assert isinstance(too_long, TooLong)
    assert too_long.variable.name == "变量1"


@pytest.mark.parametrize(
    ("number", "landline"),
    [
        ("02151290000", True),  # Shanghai, 8 digits
        ("01088886666", True),  # Beijing
        ("07558888666", True),  # Shenzhen, 0755 + 7 digits
        ("057188886666", True),  # Hangzhou, 0571 + 8 digits
        ("0215129000", False),  # too short
        ("02101290000", False),  # a local number never starts with 0
        ("13800138000", False),
        ("２１５１２９００００", False),  # ASCII digits only
    ],
)
def test_landlines(number: str, landline: bool) -> None:
    assert is_valid_landline(number) is landline
    assert is_valid_callee(number) is (landline or number == "13800138000")


def test_too_many_values_are_said_to_be_too_many() -> None:
    extra = fill_template(BIRTHDAY, ["张茜", "2", "多"])
    assert isinstance(extra, Mismatch)
    assert extra.describe() == "模板4:有2个变量,收到3个值"  # not "变量{变量2}缺少内容"
    missing = fill_template(BIRTHDAY, ["张茜"])
    assert isinstance(missing, Mismatch)
    assert missing.describe() == "模板4:变量{变量2}缺少内容"
