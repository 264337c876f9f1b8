"""Each check of a verdict (domain.md §9.1) as a sentence a clerk reads, in zh and en, made
from the check's name and outcome and the verdict's structured facts: the licence metadata
(§9.5), the record's seal signature and the seal, the seal sub-checks, the recognition rule,
the asked time. Times are shown as China time (UTC+8) to the minute.

Pure: no I/O, no clock. It must never take a sentence from the ledger's English `detail` (that
is shown beside it only as the ledger's own text), nor name a person holder: a person appears
only as "the holder".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from api.web import i18n
from ledger.calendar import UTC_OFFSET_MS

WORDS = {
    "zh": {
        "undecided": "当前账本数据不足，无法判定此项。",
        "generic.passed": "此项核验通过。", "generic.failed": "此项核验未通过。", "generic.not_applicable": "此项不适用。",
        "on_ledger.passed": "账本上有这份证照的记录，于 {issued_at} 入账。",
        "on_ledger.failed": "账本上没有编号为 {id} 的证照：编号可能有误，或证照并非账本上的部门签发。",
        "document_matches.passed.document": "出示的证照文件与账本记录的文件指纹一致，未被改动。",
        "document_matches.passed.qr": "二维码中的证照文件指纹与账本记录一致，是这一版本证照的二维码。",
        "document_matches.failed.document": "出示的证照文件与账本记录的文件指纹不一致：内容被改动过，或是另一版本。",
        "document_matches.failed.qr": "二维码中的证照文件指纹与账本记录不一致：二维码被改动过，或属于另一版本。",
        "document_matches.not_applicable": "只输入了证照编号，没有出示证照文件，无需比对。",
        "holder_matches.passed.enterprise": "证照上的持证企业（统一社会信用代码 {uscc}）与账本记录一致。",
        "holder_matches.passed.person": "证照上的姓名、身份证号与账本记录的持证人一致（请与身份证核对出示人）。",
        "holder_matches.passed.qr": "二维码所载持证主体与账本记录一致；这不能证明出示人就是持证人，请核对身份证件。",
        "holder_matches.failed": "出示的证照所载持证主体与账本记录不一致。",
        "holder_matches.not_applicable": "只输入了证照编号，没有出示证照文件，无需比对持证主体。",
        "issuer_authorised.passed": "发证部门 {issuer}（{uscc}）在账本上有权签发“{type}”。",
        "issuer_authorised.failed": "发证部门 {uscc} 在账本上无权签发“{type}”。",
        "seal_valid.passed": "印章“{seal}”（{seal_id}）在签章时（{signing_time}）已登记、有效，签章人获授权使用。",
        "seal_valid.failed": "印章在签章时不可用：“{sub}”未通过。",
        "seal_valid.undecided": "当前账本数据不足，无法判定印章：“{sub}”无法判定。",
        "signature_valid.passed": "签章签名验证通过（签章密钥 {signer}）。",
        "signature_valid.failed": "签章签名验证失败：证照可能是伪造的。",
        "status.passed": "证照状态为有效。",
        "status.failed": "证照已{status}，原因代码 {reason}，自 {updated_at} 起。",
        "within_validity.passed": "有效期 {valid_from} 至 {valid_until}，覆盖核验日 {day}。",
        "within_validity.failed.lapsed": "证照已失效：有效期至 {valid_until}，核验日为 {day}。",
        "within_validity.failed.early": "证照尚未生效：自 {valid_from} 起生效，核验日为 {day}。",
        "latest_version.passed": "第 {version} 版是最新版本。",
        "latest_version.failed": "第 {version} 版已被 {successor} 取代。",
        "commitment.passed.pending": "告知承诺核查进行中，期限 {deadline}，尚未逾期。",
        "commitment.passed.confirmed": "告知承诺核查已确认（期限为 {deadline}）。",
        "commitment.failed.overdue": "告知承诺核查已逾期：期限 {deadline} 已过，仍未确认。",
        "commitment.failed.failed": "告知承诺核查未通过：证照在核查期间被撤销。",
        "commitment.not_applicable.none": "这份证照没有告知承诺。",
        "commitment.not_applicable.superseded": "告知承诺核查在最新版本上进行，不在这一已被取代的版本上。",
        "commitment.not_applicable.void": "告知承诺已作废，无需核查。",
        "recognised.passed.same": "由本地区（{region}）签发。",
        "recognised.passed.rule": "{region} 认可 {from_region} 签发的“{type}”，视同 {as_type}{conditions}。",
        "recognised.conditions": "，条件：{conditions}",
        "recognised.failed": "{region} 没有认可 {from_region} 签发的“{type}”的规则。",
        "sub.seal.registered": "印章已登记", "sub.seal.owner": "印章属于发证部门", "sub.seal.valid_at_signing": "签章时印章在有效期内",
        "sub.seal.signer_allowed": "签章人获授权使用此印章", "sub.seal.document_hash": "签章对象是这份证照文件",
        "sub.seal.signer_key": "签章密钥在签章时有效", "sub.seal.signature": "签章签名验证",
        "no_end": "长期",
    },
    "en": {
        "undecided": "The ledger data at hand cannot tell.",
        "generic.passed": "This check passed.", "generic.failed": "This check failed.", "generic.not_applicable": "Not applicable here.",
        "on_ledger.passed": "The ledger records this licence; it was recorded at {issued_at}.",
        "on_ledger.failed": "The ledger has no licence {id}: the id may be mistyped, or no department on the ledger issued it.",
        "document_matches.passed.document": "The presented document's fingerprint is the recorded one: it is unaltered.",
        "document_matches.passed.qr": "The QR code's document fingerprint is the recorded one: it is the code of this version.",
        "document_matches.failed.document": "The presented document's fingerprint differs from the record: it was altered, or it is another version.",
        "document_matches.failed.qr": "The QR code's document fingerprint differs from the record: the code was altered or is of another version.",
        "document_matches.not_applicable": "Only the id was given: no document to compare.",
        "holder_matches.passed.enterprise": "The document's holder (USCC {uscc}) is the recorded holder.",
        "holder_matches.passed.person": "The document's name and ID number are those of the recorded holder (compare the person with the identity card).",
        "holder_matches.passed.qr": "The QR code names the recorded holder; it does not prove who presents it: check their identity.",
        "holder_matches.failed": "The holder named by what was presented is not the recorded holder.",
        "holder_matches.not_applicable": "Only the id was given: no holder to compare.",
        "issuer_authorised.passed": "The issuer {issuer} ({uscc}) may issue {type} on the ledger.",
        "issuer_authorised.failed": "The issuer {uscc} may not issue {type} on the ledger.",
        "seal_valid.passed": "The seal {seal} ({seal_id}) was registered and valid when it sealed ({signing_time}), and the signer was allowed to use it.",
        "seal_valid.failed": "The seal was not usable when it sealed: \u201c{sub}\u201d failed.",
        "seal_valid.undecided": "The ledger data at hand cannot tell the seal: \u201c{sub}\u201d cannot be told.",
        "signature_valid.passed": "The seal signature verifies (signing key {signer}).",
        "signature_valid.failed": "The seal signature does not verify: the licence may be forged.",
        "status.passed": "The licence's status is valid.",
        "status.failed": "The licence is {status}, reason code {reason}, since {updated_at}.",
        "within_validity.passed": "Its validity {valid_from} to {valid_until} covers {day}, the day asked about.",
        "within_validity.failed.lapsed": "The licence has lapsed: valid until {valid_until}, asked about {day}.",
        "within_validity.failed.early": "The licence is not yet in force: valid from {valid_from}, asked about {day}.",
        "latest_version.passed": "Version {version} is the latest.",
        "latest_version.failed": "Version {version} was replaced by {successor}.",
        "commitment.passed.pending": "The commitment inspection is pending, due by {deadline}, not overdue.",
        "commitment.passed.confirmed": "The commitment inspection was confirmed (the deadline was {deadline}).",
        "commitment.failed.overdue": "The commitment inspection is overdue: its deadline {deadline} passed unconfirmed.",
        "commitment.failed.failed": "The commitment inspection failed: the licence was annulled while it was pending.",
        "commitment.not_applicable.none": "This licence carries no commitment.",
        "commitment.not_applicable.superseded": "The inspection is tracked on the latest version, not on this replaced one.",
        "commitment.not_applicable.void": "The commitment is void: nothing to inspect.",
        "recognised.passed.same": "Issued in this region ({region}).",
        "recognised.passed.rule": "{region} recognises {type} issued in {from_region} as {as_type}{conditions}.",
        "recognised.conditions": ", on the conditions: {conditions}",
        "recognised.failed": "{region} has no rule recognising {type} issued in {from_region}.",
        "sub.seal.registered": "seal registered", "sub.seal.owner": "seal of the issuer", "sub.seal.valid_at_signing": "seal valid when signing",
        "sub.seal.signer_allowed": "signer allowed to use the seal", "sub.seal.document_hash": "signature over this document",
        "sub.seal.signer_key": "signing key valid when signing", "sub.seal.signature": "seal signature",
        "no_end": "no end",
    },
}

i18n.add({lang: {f"check.{key}": text for key, text in table.items()} for lang, table in WORDS.items()})

#: The status names of window_view (window.status.<code>) are reused for the status sentence.
STATUS_KEY = "window.status.{code}"


def format_time(ms: int | None) -> str:
    """A ledger time (ms since the epoch) as China time (UTC+8) to the minute: 2026-12-08 10:30."""
    if ms is None:
        return ""
    when = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ms + UTC_OFFSET_MS)
    return when.strftime("%Y-%m-%d %H:%M")


#: A ledger time in a check's detail: ms since 1970, 13 digits from 2001-09-09 to 2286.
LEDGER_MS = re.compile(r"\b\d{13}\b")


def ledger_text(detail: str) -> str:
    """The ledger's own detail of a check as the English page shows it beside the sentence: its
    words as they are, each time in ms as China time to the minute (`2026-12-08 10:30 UTC+8`)."""
    return LEDGER_MS.sub(lambda m: format_time(int(m.group())) + " UTC+8", detail)


def format_day(ms: int) -> str:
    """The day (UTC+8) of a ledger time: 2026-12-08."""
    return format_time(ms)[:10]


def sentence(check: Mapping[str, object], body: Mapping[str, object], seal: Mapping[str, object], lang: str) -> str:
    """The sentence of `check` (one of body["checks"]) in `lang`; `body` is verify.judge's answer,
    `seal` the page's {"seal_id", "name", "signer", "signing_time"} ({} without a record)."""
    t = i18n.translator(lang)

    def w(key: str, **values: object) -> str:
        if key not in WORDS["zh"]:  # an outcome this check does not have in §9.1
            key = f"generic.{outcome}" if f"generic.{outcome}" in WORDS["zh"] else "undecided"
        return t(f"check.{key}", **values)

    name = str(check["name"])
    outcome = str(check["outcome"])
    lic: Mapping[str, object] = body.get("licence") or {}  # type: ignore[assignment]
    ltype: Mapping[str, object] = lic.get("type") or {}  # type: ignore[assignment]
    type_name = ltype.get("name") or ltype.get("code") or "?"
    issuer: Mapping[str, object] = lic.get("issuer") or {}  # type: ignore[assignment]
    presented = str(body.get("presented") or "id")
    at_time = body.get("at_time")
    day = format_day(at_time) if isinstance(at_time, int) else "?"
    if outcome == "undecided" and name != "seal_valid":
        return w("undecided")
    if name == "on_ledger":
        if outcome == "passed":
            return w("on_ledger.passed", issued_at=format_time(lic.get("issued_at")))  # type: ignore[arg-type]
        return w("on_ledger.failed", id=body.get("licence_id") or "?")
    if name == "document_matches":
        if outcome == "not_applicable":
            return w("document_matches.not_applicable")
        return w(f"document_matches.{outcome}.{'qr' if presented == 'qr' else 'document'}")
    if name == "holder_matches":
        if outcome in ("not_applicable", "failed"):
            return w(f"holder_matches.{outcome}")
        holder: Mapping[str, object] = lic.get("holder") or {}  # type: ignore[assignment]
        if presented == "qr":
            return w("holder_matches.passed.qr")
        if holder.get("kind") == "person":
            return w("holder_matches.passed.person")
        return w("holder_matches.passed.enterprise", uscc=holder.get("uscc") or "?")
    if name == "issuer_authorised":
        return w(f"issuer_authorised.{outcome}", issuer=issuer.get("name") or "", uscc=issuer.get("uscc") or "?", type=type_name)
    if name == "seal_valid":
        if outcome == "passed":
            return w("seal_valid.passed", seal=seal.get("name") or "—", seal_id=seal.get("seal_id") or "?",
                     signing_time=format_time(seal.get("signing_time")))  # type: ignore[arg-type]
        sub = next((c for c in body.get("seal_checks") or [] if c["outcome"] != "passed"), None)  # type: ignore[union-attr]
        if sub is None:
            return w("undecided")
        return w(f"seal_valid.{'failed' if outcome == 'failed' else 'undecided'}", sub=w(f"sub.{sub['name']}") if f"sub.{sub['name']}" in WORDS["zh"] else sub["name"])
    if name == "signature_valid":
        return w(f"signature_valid.{outcome}", signer=seal.get("signer") or "?")
    if name == "status":
        if outcome == "passed":
            return w("status.passed")
        status: Mapping[str, object] = lic.get("status") or {}  # type: ignore[assignment]
        why: Mapping[str, object] = status.get("reason") or {}  # type: ignore[assignment]
        return w("status.failed", status=t(STATUS_KEY.format(code=status.get("code"))), reason=why.get("code") or "—",
                 updated_at=format_time(status.get("updated_at")))  # type: ignore[arg-type]
    if name == "within_validity":
        validity: Mapping[str, object] = lic.get("validity") or {}  # type: ignore[assignment]
        values = {"valid_from": validity.get("valid_from") or "?", "valid_until": validity.get("valid_until") or w("no_end"), "day": day}
        if outcome == "passed":
            return w("within_validity.passed", **values)
        early = str(values["valid_from"]) > day
        return w(f"within_validity.failed.{'early' if early else 'lapsed'}", **values)
    if name == "latest_version":
        return w(f"latest_version.{outcome}", version=lic.get("version") or "?", successor=lic.get("superseded_by") or "?")
    if name == "commitment":
        commitment: Mapping[str, object] = lic.get("commitment") or {}  # type: ignore[assignment]
        deadline = commitment.get("deadline") or "?"
        if outcome == "not_applicable":
            case = "superseded" if lic.get("superseded_by") else ("void" if commitment.get("state") == "void" else "none")
            return w(f"commitment.not_applicable.{case}")
        if outcome == "passed":
            return w(f"commitment.passed.{'confirmed' if commitment.get('state') == 'confirmed' else 'pending'}", deadline=deadline)
        return w(f"commitment.failed.{'failed' if commitment.get('state') == 'failed' else 'overdue'}", deadline=deadline)
    if name == "recognised":
        region = body.get("asking_region") or "?"
        from_region = issuer.get("region") or "?"
        if outcome == "failed":
            return w("recognised.failed", region=region, from_region=from_region, type=type_name)
        rule: Mapping[str, object] | None = body.get("recognition")  # type: ignore[assignment]
        if rule is None:
            return w("recognised.passed.same", region=region)
        conditions = w("recognised.conditions", conditions=rule["conditions"]) if rule.get("conditions") else ""
        return w("recognised.passed.rule", region=region, from_region=from_region, type=type_name, as_type=rule.get("as_type") or "?", conditions=conditions)
    return w("undecided")


def sentences(body: Mapping[str, object], seal: Mapping[str, object], lang: str) -> list[str]:
    """The sentence of every check of `body`, in order."""
    return [sentence(c, body, seal, lang) for c in body["checks"]]  # type: ignore[union-attr]

