"""What the window page's verdict screen shows, built from the answer of
api.routers.verify.judge (domain.md §9.4 and §9.5) and the document the holder presented: the
verdict as shown (never valid when the node's data is not trusted), the reason in plain words
first, every check, the licence's facts, the holder, the seal and the recognition rule.

Pure: no I/O, no clock (times are given). Of a person holder it shows only the name from the
presented document and the ID number masked (`mask_id_number`); it must never take a person's
data from anywhere else, nor put any into a log or a record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from api.web import i18n
from api.web.window_checks import ledger_text, sentence
from ledger.document import LicenceDocument, PersonHolder

WORDS = {
    "zh": {
        "verdict.valid": "有效", "verdict.invalid": "无效", "verdict.indeterminate": "无法判定",
        "outcome.passed": "通过", "outcome.failed": "未通过", "outcome.undecided": "无法判定", "outcome.not_applicable": "不适用",
        "check.on_ledger": "账本上有此证照", "check.document_matches": "出示的证照与记录一致", "check.holder_matches": "持证主体一致",
        "check.issuer_authorised": "发证部门有权发此类证照", "check.seal_valid": "印章可用", "check.signature_valid": "签章验证通过",
        "check.status": "证照状态为有效", "check.within_validity": "在有效期内", "check.latest_version": "是最新版本",
        "check.commitment": "告知承诺核查", "check.recognised": "本地区认可",
        "why.valid": "各项核验均通过：这份证照在本地区当前有效。",
        "why.on_ledger": "账本上没有这份证照的记录：证照编号可能有误，或证照并非由账本上的部门签发。",
        "why.document_matches": "出示的证照与账本记录不一致：内容被改动过，或是另一版本的证照。",
        "why.holder_matches": "出示的证照的持证主体与账本记录不一致。",
        "why.issuer_authorised": "发证部门在账本上无权签发此类证照。",
        "why.signature_valid": "签章签名验证失败：证照可能是伪造的。",
        "why.status": "证照已被{status}（{reason}）。",
        "why.within_validity": "证照不在有效期内（有效期 {valid_from} 至 {valid_until}）。",
        "why.latest_version": "这不是最新版本：已被 {successor} 取代，请持证人出示最新版本。",
        "why.commitment": "告知承诺核查未通过（{state}，期限 {deadline}）。",
        "why.recognised": "本地区（{region}）没有认可 {from_region} 此类证照的规则。",
        "why.undecided": "账本数据不足，无法判定“{check}”。",
        "why.untrusted": "节点数据不可信，结果不能作为有效：",
        "commitment_state.pending": "核查中", "commitment_state.confirmed": "已确认", "commitment_state.failed": "未通过", "commitment_state.void": "已作废",
        "ledger_detail": "账本原文", "colon": "：", "sep": "；", "times_note": "时间均为北京时间（UTC+8）。",
        "status.suspended": "暂扣", "status.revoked": "吊销", "status.annulled": "撤销", "status.cancelled": "注销", "status.lapsed": "失效", "status.valid": "有效",
    },
    "en": {
        "verdict.valid": "Valid", "verdict.invalid": "Invalid", "verdict.indeterminate": "Cannot tell",
        "outcome.passed": "passed", "outcome.failed": "failed", "outcome.undecided": "cannot tell", "outcome.not_applicable": "not applicable",
        "check.on_ledger": "Recorded on the ledger", "check.document_matches": "Presented document matches the record", "check.holder_matches": "Holder matches",
        "check.issuer_authorised": "Issuer may issue this type", "check.seal_valid": "Seal usable", "check.signature_valid": "Seal signature verifies",
        "check.status": "Status is valid", "check.within_validity": "Within its validity", "check.latest_version": "Latest version",
        "check.commitment": "Commitment (告知承诺) inspection", "check.recognised": "Recognised in this region",
        "why.valid": "Every check passed: this licence is valid in this region now.",
        "why.on_ledger": "The ledger has no record of this licence: the id may be mistyped, or it was not issued by a department on the ledger.",
        "why.document_matches": "The presented document differs from the ledger's record: it was altered, or it is another version.",
        "why.holder_matches": "The holder of the presented document is not the recorded holder.",
        "why.issuer_authorised": "The issuing department may not issue this licence type on the ledger.",
        "why.signature_valid": "The seal signature does not verify: the licence may be forged.",
        "why.status": "The licence has been {status} ({reason}).",
        "why.within_validity": "The licence is not within its validity ({valid_from} to {valid_until}).",
        "why.latest_version": "This is not the latest version: {successor} replaces it; ask the holder for the latest one.",
        "why.commitment": "The commitment (告知承诺) inspection failed ({state}, deadline {deadline}).",
        "why.recognised": "This region ({region}) has no rule recognising this type of licence from {from_region}.",
        "why.undecided": "The ledger data at hand cannot tell \u201c{check}\u201d.",
        "why.untrusted": "The node's data cannot be trusted, so no verdict can show as valid:",
        "commitment_state.pending": "pending", "commitment_state.confirmed": "confirmed", "commitment_state.failed": "failed", "commitment_state.void": "void",
        "ledger_detail": "the ledger's text", "colon": ": ", "sep": "; ", "times_note": "Times are China time (UTC+8).",
        "status.suspended": "suspended", "status.revoked": "revoked", "status.annulled": "annulled", "status.cancelled": "cancelled", "status.lapsed": "lapsed", "status.valid": "valid",
    },
}


def mask_id_number(number: str) -> str:
    """A person's ID number as the page shows it: the first 4 and last 4 characters, the rest
    as `*` (1201**********1234); a number of 8 characters or fewer is wholly masked."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


@dataclass(frozen=True)
class Holder:
    """The holder as shown: `kind`, the USCC (enterprise), the name and masked ID number from
    the presented document (None when none was presented)."""

    kind: str | None
    uscc: str | None = None
    name: str | None = None
    masked_id: str | None = None


@dataclass(frozen=True)
class Screen:
    """The verdict screen: `verdict` as shown, `judged` as the ledger judged it, `reasons` (plain
    sentences, the first is the main one), the checks as (name, label, outcome, outcome label,
    detail), and the answer's parts the template lays out."""

    verdict: str
    judged: str
    reasons: list[str]
    checks: list[tuple[str, str, str, str, str, str]]
    seal_checks: list[tuple[str, str, str, str]]
    licence: Mapping[str, object] | None
    holder: Holder
    recognition: Mapping[str, object] | None
    same_region: bool
    seal: Mapping[str, object] = field(default_factory=dict)


i18n.add({lang: {f"window.{key}": text for key, text in table.items()} for lang, table in WORDS.items()})


def words(lang: str) -> Callable[..., str]:
    """`w(key, **values)`: the page's text `window.<key>` in `lang` (api.web.i18n)."""
    t = i18n.translator(lang)
    return lambda key, **values: t(f"window.{key}", **values)


def holder_of(licence: Mapping[str, object] | None, document: LicenceDocument | None) -> Holder:
    """The holder: the ledger's kind and USCC; a name only from the presented document."""
    ledger_holder: Mapping[str, object] = (licence or {}).get("holder") or {}  # type: ignore[assignment]
    presented = None if document is None else document.licence.holder
    kind = ledger_holder.get("kind") or (None if presented is None else ("person" if isinstance(presented, PersonHolder) else "enterprise"))
    if isinstance(presented, PersonHolder):
        return Holder("person", name=presented.name, masked_id=mask_id_number(presented.id_number))
    return Holder(
        kind,  # type: ignore[arg-type]
        uscc=ledger_holder.get("uscc") or getattr(presented, "uscc", None),  # type: ignore[arg-type]
        name=getattr(presented, "name", None),
    )


def screen_of(body: Mapping[str, object], document: LicenceDocument | None, lang: str, untrusted: str | None, seal: Mapping[str, object]) -> Screen:
    """The screen of verify.judge's answer `body` in `lang`. `untrusted` is the banner's sentence
    when the node's tip is not trusted: the verdict then shows as indeterminate with it first."""
    w = words(lang)
    judged: str = body["verdict"]  # type: ignore[assignment]
    checks: list[Mapping[str, object]] = body["checks"]  # type: ignore[assignment]
    licence: Mapping[str, object] | None = body.get("licence")  # type: ignore[assignment]
    reasons = [reason(c, licence, body, w, sentence(c, body, seal, lang)) for c in checks if c["outcome"] == "failed"]
    if not reasons:
        reasons = [w("why.undecided", check=w(f"check.{c['name']}")) for c in checks if c["outcome"] == "undecided"]
    if not reasons:
        reasons = [w("why.valid")]
    verdict = judged
    if untrusted is not None:
        verdict = "indeterminate"
        reasons = [w("why.untrusted") + " " + untrusted, *(r for r in reasons if judged != "valid")]
    rows = [(str(c["name"]), w(f"check.{c['name']}"), str(c["outcome"]), w(f"outcome.{c['outcome']}"), sentence(c, body, seal, lang), ledger_text(str(c["detail"]))) for c in checks]
    sub = i18n.translator(lang)
    seal_rows = [(str(c["name"]), sub(f"check.sub.{c['name']}"), str(c["outcome"]), ledger_text(str(c["detail"]))) for c in body.get("seal_checks") or []]  # type: ignore[union-attr]
    region = body["asking_region"]
    same = licence is not None and (licence["issuer"] or {}).get("region") == region  # type: ignore[union-attr]
    return Screen(verdict, judged, reasons, rows, seal_rows, licence, holder_of(licence, document), body.get("recognition"), same, seal)  # type: ignore[arg-type]


def reason(check: Mapping[str, object], licence: Mapping[str, object] | None, body: Mapping[str, object], w: Callable[..., str], said: str) -> str:
    """The plain sentence for a failed check (`said` is the check's own sentence)."""
    name = check["name"]
    lic: Mapping[str, object] = licence or {}
    if name == "status":
        status: Mapping[str, object] = lic.get("status") or {}  # type: ignore[assignment]
        why: Mapping[str, object] = status.get("reason") or {}  # type: ignore[assignment]
        code = str(status.get("code", ""))
        return w("why.status", status=w(f"status.{code}") if f"status.{code}" in WORDS["zh"] else code, reason=why.get("code", "") or "")
    if name == "within_validity":
        validity: Mapping[str, object] = lic.get("validity") or {}  # type: ignore[assignment]
        return w("why.within_validity", valid_from=validity.get("valid_from", "?"), valid_until=validity.get("valid_until") or "—")
    if name == "latest_version":
        return w("why.latest_version", successor=lic.get("superseded_by") or "?")
    if name == "commitment":
        commitment: Mapping[str, object] = lic.get("commitment") or {}  # type: ignore[assignment]
        return w("why.commitment", state=w(f"commitment_state.{commitment.get('state')}"), deadline=commitment.get("deadline", "?"))
    if name == "recognised":
        issuer: Mapping[str, object] = lic.get("issuer") or {}  # type: ignore[assignment]
        return w("why.recognised", region=body["asking_region"], from_region=issuer.get("region", "?"))
    if name == "seal_valid":
        return said
    return w(f"why.{name}")
