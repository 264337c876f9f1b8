"""What a transaction means, in one short sentence per language (issue 11 §2: the explorer shows
transactions in domain terms, never as raw bytes alone).

`SENTENCES` maps every transaction kind the ledger registers (`register(TxKind(` in ledger/) to
a function of the transaction's body and its signer that gives `{"zh": ..., "en": ...}` with
the key facts (which licence, department, seal, rule, key, region, dates, reason). A test fails
when a kind has no sentence. `describe` is the one entry point; it never raises for a body of a
known kind that lacks a member (a sentence with "?" is better than no page).

Pure: no reads, no clock. Must never print a person's data: a person holder is on the ledger
only as a commitment, and the sentence says "a natural person" without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ledger.calendar import UTC_OFFSET_MS

Body = Mapping[str, object]


@dataclass(frozen=True)
class Signer:
    """Who signed a transaction, as the state names its key (None members when unknown)."""

    name: str | None = None
    role: str | None = None
    region: str | None = None


Sentence = Callable[[Body, Signer], dict[str, str]]


def format_time(ms: object) -> str:
    """A ledger time (ms since 1970) as `YYYY-MM-DD HH:MM:SS` in China time (UTC+8)."""
    if isinstance(ms, bool) or not isinstance(ms, int):
        return "?"
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ms + UTC_OFFSET_MS)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def short(text: object, keep: int = 12) -> str:
    """A long identifier (hash, key id) cut to its first `keep` characters and an ellipsis."""
    text = "?" if text is None else str(text)
    return text if len(text) <= keep + 1 else text[:keep] + "…"


def _get(body: Body, *path: str) -> str:
    value: object = body
    for name in path:
        if not isinstance(value, Mapping) or name not in value:
            return "?"
        value = value[name]
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def _reason(body: Body) -> tuple[str, str]:
    reason = body.get("reason")
    if not reason:
        return "", ""
    return f"，原因：{reason}", f"; reason: {reason}"


def _holder(body: Body) -> tuple[str, str]:
    holder = body.get("holder")
    if isinstance(holder, Mapping) and holder.get("kind") == "enterprise":
        return f"企业 {holder.get('uscc', '?')}", f"the enterprise {holder.get('uscc', '?')}"
    if isinstance(holder, Mapping) and holder.get("kind") == "person":
        return "自然人（身份受保护）", "a natural person (identity protected)"
    return "?", "?"


def _region(signer: Signer) -> str:
    return signer.region or "?"


# -- governance (domain.md §3) ---------------------------------------------------------------------


def _org_admit(b: Body, s: Signer) -> dict[str, str]:
    keys = b.get("keys")
    n = len(keys) if isinstance(keys, list) else "?"
    return {
        "zh": f"{_region(s)} 准入发证部门「{_get(b, 'name')}」（{_get(b, 'uscc')}），密钥 {n} 把，证照类型：{_get(b, 'licence_types')}",
        "en": f"{_region(s)} admitted the department “{_get(b, 'name')}” ({_get(b, 'uscc')}) with {n} key(s), licence types: {_get(b, 'licence_types')}",
    }


def _org_grant(b: Body, s: Signer) -> dict[str, str]:
    return {
        "zh": f"部门 {_get(b, 'uscc')} 获准签发证照类型：{_get(b, 'licence_types')}",
        "en": f"Department {_get(b, 'uscc')} may now issue licence types: {_get(b, 'licence_types')}",
    }


def _org_key_add(b: Body, s: Signer) -> dict[str, str]:
    start, end = format_time(_int(b, "key", "not_before")), format_time(_int(b, "key", "not_after"))
    return {
        "zh": f"部门 {_get(b, 'uscc')} 新增签名密钥，有效期 {start} 至 {end}",
        "en": f"Department {_get(b, 'uscc')} added a signing key, valid {start} to {end}",
    }


def _org_key_revoke(b: Body, s: Signer) -> dict[str, str]:
    zh, en = _reason(b)
    return {
        "zh": f"部门 {_get(b, 'uscc')} 的密钥 {short(_get(b, 'key_id'))} 被吊销{zh}",
        "en": f"Key {short(_get(b, 'key_id'))} of department {_get(b, 'uscc')} revoked{en}",
    }


def _org_status(zh_verb: str, en_verb: str) -> Sentence:
    def sentence(b: Body, s: Signer) -> dict[str, str]:
        zh, en = _reason(b)
        return {"zh": f"部门 {_get(b, 'uscc')} {zh_verb}{zh}", "en": f"Department {_get(b, 'uscc')} {en_verb}{en}"}
    return sentence


def _ltype_register(b: Body, s: Signer) -> dict[str, str]:
    required = b.get("validity_required") is True
    return {
        "zh": f"{_region(s)} 登记证照类型 {_get(b, 'code')}「{_get(b, 'name')}」" + ("，须有有效期" if required else ""),
        "en": f"{_region(s)} registered the licence type {_get(b, 'code')} “{_get(b, 'name')}”" + (", validity required" if required else ""),
    }


def _recognition_declare(b: Body, s: Signer) -> dict[str, str]:
    conditions = b.get("conditions") or "—"
    return {
        "zh": f"{_region(s)} 认可 {_get(b, 'from_region')} 签发的 {_get(b, 'type')}，视同本地 {_get(b, 'as_type')}；条件：{conditions}",
        "en": f"{_region(s)} recognises {_get(b, 'type')} issued in {_get(b, 'from_region')} as its {_get(b, 'as_type')}; conditions: {conditions}",
    }


def _scenario_declare(b: Body, s: Signer) -> dict[str, str]:
    types = ", ".join(str(t) for t in b.get("licence_types") or []) or "—"
    if b.get("withdrawn") is True:
        return {
            "zh": f"{_region(s)} 撤回事项 {_get(b, 'code')}「{_get(b, 'name')}」",
            "en": f"{_region(s)} withdrew the service item {_get(b, 'code')} “{_get(b, 'name')}”",
        }
    return {
        "zh": f"{_region(s)} 声明事项 {_get(b, 'code')}「{_get(b, 'name')}」，接受证照类型 {types}",
        "en": f"{_region(s)} declared the service item {_get(b, 'code')} “{_get(b, 'name')}”, accepting the licence types {types}",
    }


def _recognition_withdraw(b: Body, s: Signer) -> dict[str, str]:
    return {
        "zh": f"{_region(s)} 撤回对 {_get(b, 'from_region')} 签发的 {_get(b, 'type')} 的互认规则",
        "en": f"{_region(s)} withdrew its recognition of {_get(b, 'type')} issued in {_get(b, 'from_region')}",
    }


def _cert_revoke(b: Body, s: Signer) -> dict[str, str]:
    zh, en = _reason(b)
    return {
        "zh": f"{_region(s)} 吊销证书（序列号 {_get(b, 'serial')}）{zh}",
        "en": f"{_region(s)} revoked the certificate with serial {_get(b, 'serial')}{en}",
    }


# -- seals (domain.md §4) --------------------------------------------------------------------------

_SEAL_TYPES = {"official": ("公章", "official"), "contract": ("合同章", "contract"), "finance": ("财务章", "finance"),
               "licence": ("证照专用章", "licence"), "personal": ("个人章", "personal")}


def _seal_register(b: Body, s: Signer) -> dict[str, str]:
    zh_type, en_type = _SEAL_TYPES.get(str(b.get("type")), ("?", "?"))
    start, end = format_time(b.get("valid_from")), format_time(b.get("valid_until"))
    return {
        "zh": f"部门 {_get(b, 'owner')} 登记印章 {_get(b, 'seal_id')}「{_get(b, 'name')}」（{zh_type}），有效期 {start} 至 {end}",
        "en": f"Department {_get(b, 'owner')} registered the seal {_get(b, 'seal_id')} “{_get(b, 'name')}” ({en_type}), valid {start} to {end}",
    }


def _seal_revoke(b: Body, s: Signer) -> dict[str, str]:
    zh, en = _reason(b)
    return {"zh": f"印章 {_get(b, 'seal_id')} 被吊销{zh}", "en": f"Seal {_get(b, 'seal_id')} revoked{en}"}


def _seal_sign(b: Body, s: Signer) -> dict[str, str]:
    seal, document = _get(b, "seal_signature", "seal_id"), short(_get(b, "seal_signature", "document_hash"))
    when = format_time(_int(b, "seal_signature", "signing_time"))
    return {
        "zh": f"印章 {seal} 于 {when} 签署文件（哈希 {document}）",
        "en": f"Seal {seal} signed a document (hash {document}) at {when}",
    }


def _document_anchor(b: Body, s: Signer) -> dict[str, str]:
    label = b.get("label")
    return {
        "zh": f"锚定文件哈希 {short(_get(b, 'document_hash'))}" + (f"（{label}）" if label else ""),
        "en": f"Anchored the document hash {short(_get(b, 'document_hash'))}" + (f" ({label})" if label else ""),
    }


# -- licences (domain.md §5) -----------------------------------------------------------------------


def _licence_issue(b: Body, s: Signer) -> dict[str, str]:
    zh_holder, en_holder = _holder(b)
    until = b.get("valid_until")
    return {
        "zh": f"签发证照 {_get(b, 'id')}，持证人：{zh_holder}，有效期 {_get(b, 'valid_from')} 至 {until or '长期'}，印章 {_get(b, 'seal', 'seal_id')}",
        "en": f"Issued the licence {_get(b, 'id')} to {en_holder}, valid {_get(b, 'valid_from')} to {until or 'open-ended'}, seal {_get(b, 'seal', 'seal_id')}",
    }


def _licence_version(zh_verb: str, en_verb: str) -> Sentence:
    def sentence(b: Body, s: Signer) -> dict[str, str]:
        zh, en = _reason(b)
        new = b.get("new") if isinstance(b.get("new"), Mapping) else {}
        until = new.get("valid_until")  # type: ignore[union-attr]
        zh_holder = en_holder = ""
        if isinstance(new, Mapping) and "holder" in new:
            h_zh, h_en = _holder(new)
            zh_holder, en_holder = f"，持证人改为{h_zh}", f", holder now {h_en}"
        return {
            "zh": f"证照 {_get(b, 'id')} {zh_verb}：新版本有效期 {_get(new, 'valid_from')} 至 {until or '长期'}{zh_holder}{zh}",  # type: ignore[arg-type]
            "en": f"Licence {_get(b, 'id')} {en_verb}: the new version is valid {_get(new, 'valid_from')} to {until or 'open-ended'}{en_holder}{en}",  # type: ignore[arg-type]
        }
    return sentence


def _licence_status(zh_verb: str, en_verb: str) -> Sentence:
    def sentence(b: Body, s: Signer) -> dict[str, str]:
        zh, en = _reason(b)
        return {"zh": f"证照 {_get(b, 'id')} {zh_verb}{zh}", "en": f"Licence {_get(b, 'id')} {en_verb}{en}"}
    return sentence


def _licence_confirm(b: Body, s: Signer) -> dict[str, str]:
    return {
        "zh": f"证照 {_get(b, 'id')} 的告知承诺经核查属实",
        "en": f"The notification-commitment (告知承诺) of licence {_get(b, 'id')} was confirmed by inspection",
    }


# -- the node's own records ------------------------------------------------------------------------


def _evidence(b: Body, s: Signer) -> dict[str, str]:
    vote = b.get("vote_a") if isinstance(b.get("vote_a"), Mapping) else {}
    who, height, round_, kind = short(_get(vote, "validator")), _get(vote, "height"), _get(vote, "round"), _get(vote, "type")  # type: ignore[arg-type]
    return {
        "zh": f"验证节点 {s.name or '?'} 举报：验证节点 {who} 在第 {height} 块第 {round_} 轮投出两张相互冲突的 {kind} 票",
        "en": f"Validator {s.name or '?'} reported validator {who} for two conflicting {kind} votes at height {height}, round {round_}",
    }


def _use_record(b: Body, s: Signer) -> dict[str, str]:
    records = b.get("records") if isinstance(b.get("records"), list) else []
    seqs = [r.get("seq") for r in records if isinstance(r, Mapping)]  # type: ignore[union-attr]
    node = records[0].get("node", "?") if records and isinstance(records[0], Mapping) else "?"  # type: ignore[union-attr]
    span = f"{seqs[0]}–{seqs[-1]}" if seqs else "?"
    return {
        "zh": f"节点 {node} 登记 {len(records)} 条用证记录（序号 {span}）",
        "en": f"Node {node} recorded {len(records)} use(s) of licences (seq {span})",
    }


def _int(body: Body, *path: str) -> object:
    value: object = body
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


SENTENCES: dict[str, Sentence] = {
    "document.anchor": _document_anchor,
    "org.admit": _org_admit,
    "org.grant": _org_grant,
    "org.key_add": _org_key_add,
    "org.key_revoke": _org_key_revoke,
    "org.suspend": _org_status("被暂停", "suspended"),
    "org.resume": _org_status("恢复正常", "resumed"),
    "ltype.register": _ltype_register,
    "recognition.declare": _recognition_declare,
    "scenario.declare": _scenario_declare,
    "recognition.withdraw": _recognition_withdraw,
    "cert.revoke": _cert_revoke,
    "seal.register": _seal_register,
    "seal.revoke": _seal_revoke,
    "seal.sign": _seal_sign,
    "licence.issue": _licence_issue,
    "licence.change": _licence_version("变更", "changed"),
    "licence.renew": _licence_version("延续", "renewed"),
    "licence.suspend": _licence_status("被暂扣", "suspended"),
    "licence.resume": _licence_status("恢复有效", "resumed"),
    "licence.revoke": _licence_status("被吊销", "revoked"),
    "licence.annul": _licence_status("被撤销", "annulled"),
    "licence.cancel": _licence_status("被注销", "cancelled"),
    "licence.confirm": _licence_confirm,
    "evidence.duplicate_vote": _evidence,
    "use.record": _use_record,
}


def describe(kind: str, body: Body, signer: Signer = Signer()) -> dict[str, str]:
    """`{"zh", "en"}`: what a transaction of `kind` with `body`, signed by `signer`, did. A kind
    this table does not know (a newer node's) is named as such, never an error."""
    sentence = SENTENCES.get(kind)
    if sentence is None:
        return {"zh": f"未知类型的交易（{kind}）", "en": f"A transaction of a kind this explorer does not know ({kind})"}
    return sentence(body, signer)
