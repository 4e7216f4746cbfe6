"""Ready-to-run examples of the overview, filled in with the customer's account: curl,
Python with voiceotp, and the ihuyi document's PHP sample (adapted: this gateway's
endpoint, the account's APIID, and the answer actually read — the original's
``CURLOPT_NOBODY`` made curl drop the reply). The APIKEY is a placeholder unless the
customer has just revealed or rotated it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KEY_PLACEHOLDER", "Examples", "examples"]

KEY_PLACEHOLDER = "<APIKEY>"
SAMPLE_MOBILE = "136xxxxxxxx"
SAMPLE_CODE = "1125"


@dataclass(frozen=True, slots=True)
class Examples:
    curl: str
    python: str
    php: str


def examples(*, endpoint: str, apiid: str, apikey: str = "") -> Examples:
    """The three samples for ``apiid`` at ``endpoint`` (the number is a placeholder: pages
    show numbers masked)."""
    key, number = apikey or KEY_PLACEHOLDER, SAMPLE_MOBILE
    return Examples(
        curl=_CURL.format(endpoint=endpoint, apiid=apiid, key=key, mobile=number, code=SAMPLE_CODE),
        python=_PYTHON.format(
            endpoint=endpoint, apiid=apiid, key=key, mobile=number, code=SAMPLE_CODE
        ),
        php=_PHP.format(endpoint=endpoint, apiid=apiid, key=key, mobile=number, code=SAMPLE_CODE),
    )


_CURL = """\
curl -s "{endpoint}?method=Submit" \\
  --data-urlencode "account={apiid}" \\
  --data-urlencode "password={key}" \\
  --data-urlencode "mobile={mobile}" \\
  --data-urlencode "content={code}"
"""

_PYTHON = """\
# pip install voiceotp
from voiceotp import Client

with Client("{apiid}", "{key}", base_url="{endpoint}") as client:
    result = client.send("{mobile}", "{code}")  # a dynamic password: the APIKEY is never sent
    print(result.code, result.msg, result.voiceid)
    print(client.balance())
"""

_PHP = """\
<?php
//接口类型:语音验证码接口(互亿无线兼容)。
//(1)调试期间,请仔细阅读接口文档;
//(2)APIID 与 APIKEY:登录用户中心->产品总览;
//(3)该代码仅供接入参考使用,客户可根据实际需要自行编写;

header("Content-type:text/html; charset=UTF-8");

function Post($curlPost,$url){{
        $curl = curl_init();
        curl_setopt($curl, CURLOPT_URL, $url);
        curl_setopt($curl, CURLOPT_HEADER, false);
        curl_setopt($curl, CURLOPT_RETURNTRANSFER, true);
        curl_setopt($curl, CURLOPT_POST, true);
        curl_setopt($curl, CURLOPT_POSTFIELDS, $curlPost);
        $return_str = curl_exec($curl);
        curl_close($curl);
        return $return_str;
}}
function xml_to_array($xml){{
    $reg = "/<(\\w+)[^>]*>([\\\\x00-\\\\xFF]*)<\\\\/\\\\1>/";
    $arr = array();
    if(preg_match_all($reg, $xml, $matches)){{
        $count = count($matches[0]);
        for($i = 0; $i < $count; $i++){{
        $subxml= $matches[2][$i];
        $key = $matches[1][$i];
            if(preg_match( $reg, $subxml )){{
                $arr[$key] = xml_to_array( $subxml );
            }}else{{
                $arr[$key] = $subxml;
            }}
        }}
    }}
    return $arr;
}}

$target = "{endpoint}?method=Submit";
$mobile = '{mobile}';//手机号码
$post_data = "account={apiid}&password={key}&mobile=".$mobile."&content={code}";
//APIID:用户中心->产品总览->APIID
//APIKEY:用户中心->产品总览->显示 APIKEY
$gets =  xml_to_array(Post($post_data, $target));
if($gets['SubmitResult']['code']==2){{
    echo '提交成功';
}}
"""
