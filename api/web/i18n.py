"""The words of the web pages in each language (zh, the default, and en), and how a request
picks its language: `?lang=` (remembered in a cookie), else the cookie, else the first of
Accept-Language that we have. Page modules `add` their own messages at import; a key missing in
one language falls back to Chinese, a key missing in both is a programming error (KeyError at
render, caught by the tests that render every page in both languages)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "lang"

_MESSAGES: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}


def add(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add `{lang: {key: text}}`; a key given twice with different texts is a ValueError."""
    for lang, entries in messages.items():
        if lang not in _MESSAGES:
            raise ValueError(f"unknown language {lang!r}")
        for key, text in entries.items():
            if _MESSAGES[lang].get(key, text) != text:
                raise ValueError(f"message {key!r} ({lang}) is defined twice")
            _MESSAGES[lang][key] = text


def translator(lang: str) -> Callable[..., str]:
    """`t(key, **values)`: the text of `key` in `lang` (else Chinese) with `{name}` filled in."""
    table, fallback = _MESSAGES.get(lang, _MESSAGES[DEFAULT_LANGUAGE]), _MESSAGES[DEFAULT_LANGUAGE]

    def t(key: str, **values: object) -> str:
        text = table.get(key) or fallback[key]
        return text.format(**values) if values else text

    return t


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    """The language of a request (see the module's docstring)."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate  # type: ignore[return-value]
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def keys(lang: str) -> set[str]:
    return set(_MESSAGES[lang])


add({
    "zh": {
        "site.title": "电子证照核验",
        "site.explorer": "账本浏览",
        "site.window": "窗口核验",
        "site.language": "English",
        "site.signed_in": "{name}（{region}，{role}）",
        "site.anonymous": "未登录：请使用本人证书访问",
        "site.as_of": "数据截至第 {height} 块，{age} 秒前",
        "site.no_blocks": "节点尚无已提交的区块",
        "site.stale": "节点数据已过时（最新区块为 {age} 秒前），核验结果不能显示为有效，请稍后再试或联系管理员。",
        "site.syncing": "节点正在同步区块，核验结果不能显示为有效。",
        "site.unreachable": "网页服务暂时无法连接节点，请稍后再试。",
        "role.partner": "协作地区",
        "role.staff": "窗口人员",
        "role.department": "发证部门",
        "role.issuer": "发证部门",
        "role.region-admin": "管理员",
        "role.validator": "验证节点",
        "role.observer": "观察节点",
        "role.auditor": "审计",
        "role.admin": "管理员",
        "role.anonymous": "访客",
        "error.title": "出错了",
        "error.back": "返回",
    },
    "en": {
        "site.title": "Licence verification",
        "site.explorer": "Ledger explorer",
        "site.window": "Window check",
        "site.language": "中文",
        "site.signed_in": "{name} ({region}, {role})",
        "site.anonymous": "Not signed in: open this page with your certificate",
        "site.as_of": "As of block {height}, {age} s ago",
        "site.no_blocks": "The node has no committed block yet",
        "site.stale": "The node's data is stale (its last block is {age} s old): no verdict can show as valid. Try again later or call the administrator.",
        "site.syncing": "The node is catching up with the network: no verdict can show as valid.",
        "site.unreachable": "The web service cannot reach its node right now; try again shortly.",
        "role.partner": "partner region",
        "role.staff": "window staff",
        "role.department": "issuing department",
        "role.issuer": "issuing department",
        "role.region-admin": "administrator",
        "role.validator": "validator node",
        "role.observer": "observer node",
        "role.auditor": "auditor",
        "role.admin": "administrator",
        "role.anonymous": "visitor",
        "error.title": "Something went wrong",
        "error.back": "Back",
    },
})
