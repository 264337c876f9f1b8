"""`eledger tx <kind>`: build and sign one transaction of each domain kind (docs/spec/domain.md
§3–§5) with a key file, thin over client.signing (docs/client.md).

Every command takes --key (the signer's private key file, mode 0600), --chain-id or --genesis,
and writes the signed transaction as canonical JSON to stdout, to --out, or as one more line of
the JSON-lines file --append. `licence-issue` writes a sealed transaction (transactions.md §5):
its one signature is the document's seal signature, by --seal-key (default: --key). Exit 0 written, 1 the values would be rejected by the ledger
(code and field printed), 2 unusable input (key, genesis or other file). A private key is never
printed; public keys may come from a public-key, private-key or certificate PEM file.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from client.signing import AdminClient, Client, DepartmentClient, KeyGrant, wall_clock_ms
from eledger.commands.licence import draft_from_row, fail, load_private_key, parse_time, parse_type_names, resolve_chain_id, write_holder_document
from ledger.crypto import PublicKey, Suite
from ledger.crypto.asn1 import decode_pem
from ledger.document import read_document
from ledger.encoding import b64decode
from ledger.errors import CryptoError, LedgerError
from ledger.files import replace_file
from ledger.tx import Tx

tx_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Build and sign one transaction (governance, seals, licences).")

DEFAULT_KEY_LIFETIME = timedelta(days=730)  # as certificates of `eledger certs issue`
MAX_PEM_BYTES = 64 * 1024

Key = Annotated[Path, typer.Option("--key", help="The signer's private key file (mode 0600).")]
ChainId = Annotated[str | None, typer.Option("--chain-id", help="Chain id (or give --genesis).")]
GenesisFile = Annotated[Path | None, typer.Option("--genesis", help="Genesis file to take the chain id from.")]
Out = Annotated[Path | None, typer.Option("--out", help="Write the transaction to this file (default: stdout).")]
Append = Annotated[Path | None, typer.Option("--append", help="Append the transaction as one line to this JSON-lines file.")]
Uscc = Annotated[str, typer.Option("--uscc", help="The organisation's USCC.")]
Reason = Annotated[str, typer.Option("--reason", help="Reason code: lower-case letters, digits and _, starting with a letter, at most 40 (e.g. inspection_failed).")]
Note = Annotated[str | None, typer.Option("--note", help="Free text, at most 256 characters.")]
LicenceIdOpt = Annotated[str, typer.Option("--id", help="Licence identifier (latest version).")]
Types = Annotated[str, typer.Option("--types", help="Licence type codes, comma-separated.")]
IssuerKey = Annotated[Path, typer.Option("--issuer-key", help="The department key: public-key, private-key or certificate PEM file.")]
NotBefore = Annotated[str | None, typer.Option("--not-before", help="Key valid from (ms, date or ISO date-time; default: the certificate's, or now).")]
NotAfter = Annotated[str | None, typer.Option("--not-after", help="Key valid until (default: the certificate's, or 730 days on).")]
SealIdOpt = Annotated[str, typer.Option("--seal-id", help="Seal id: 8..32 digits and capital letters.")]
IssueKey = Annotated[Path | None, typer.Option("--key", help="The department's private key file (mode 0600): seals the document, and so signs the transaction, unless --seal-key is given. Give --key, --seal-key or both.")]
SealKey = Annotated[Path | None, typer.Option("--seal-key", help="Private key of a signer of the seal, a key of the department (default: --key).")]
IssuerName = Annotated[str, typer.Option("--issuer-name", help="The department's name as printed on its documents.")]
Documents = Annotated[Path, typer.Option("--documents", help="Directory the new document is written to, DIR/<licence id>.json.", file_okay=False)]
Field = Annotated[list[str] | None, typer.Option("--field", help="NAME=VALUE document field (repeatable).")]
SigningTime = Annotated[str | None, typer.Option("--signing-time", help="Seal signing time (default: now).")]


# -- plumbing --------------------------------------------------------------------------------------


@contextmanager
def _building() -> Iterator[None]:
    """A ledger error while building is a value the ledger would reject: exit 1 with code and field."""
    try:
        yield
    except LedgerError as exc:
        field = exc.fields.get("field")
        fail(1, f"{exc.code}: {exc}" + (f" (field {field})" if field else ""))


def _emit(tx: Tx, out: Path | None, append: Path | None) -> None:
    if out is not None and append is not None:
        fail(2, "give at most one of --out and --append")
    data = tx.to_bytes()
    try:
        if out is not None:
            replace_file(out, data + b"\n", 0o644)
        elif append is not None:
            with append.open("ab") as handle:
                handle.write(data + b"\n")
        else:
            typer.echo(data.decode("utf-8"))
    except OSError as exc:
        fail(2, f"cannot write the transaction: {exc.strerror}")


def _client(key: Path, chain_id: str | None, genesis: Path | None) -> Client:
    chain = resolve_chain_id(chain_id, genesis)
    with _building():
        return Client(load_private_key(key), chain)


def _admin(key: Path, chain_id: str | None, genesis: Path | None) -> AdminClient:
    chain = resolve_chain_id(chain_id, genesis)
    with _building():
        return AdminClient(load_private_key(key), chain)


def _department(key: Path, chain_id: str | None, genesis: Path | None, uscc: str, seal_id: str | None = None, seal_key: Path | None = None, issuer_name: str | None = None) -> DepartmentClient:
    chain = resolve_chain_id(chain_id, genesis)
    signer = load_private_key(key)
    sealer = None if seal_key is None else load_private_key(seal_key)
    with _building():
        return DepartmentClient(signer, chain, uscc, seal_id, sealer, issuer_name=issuer_name)


def read_public_key(path: Path) -> tuple[PublicKey, tuple[int, int] | None]:
    """The public key in a PEM file ("PUBLIC KEY", "PRIVATE KEY" or "CERTIFICATE") and, for a
    certificate, its validity window in ms. Exits 2 on an unusable file."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PEM_BYTES + 1)
        label, der = decode_pem(data)
    except OSError as exc:
        fail(2, f"cannot read {path}: {exc.strerror}")
    except LedgerError as exc:
        fail(2, f"{path}: {exc.code}: {exc}")
    if label == "PRIVATE KEY":
        return load_private_key(path).public_key, None
    window = None
    if label == "CERTIFICATE":
        try:
            cert = x509.load_der_x509_certificate(der)
            der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        except (ValueError, TypeError) as exc:
            fail(2, f"{path}: not a usable certificate: {exc}")
        window = (int(cert.not_valid_before_utc.timestamp() * 1000), int(cert.not_valid_after_utc.timestamp() * 1000))
    elif label != "PUBLIC KEY":
        fail(2, f"{path}: expected a PUBLIC KEY, PRIVATE KEY or CERTIFICATE PEM block, found {label!r}")
    for suite in Suite:
        try:
            return PublicKey.from_spki(suite, der), window
        except CryptoError as exc:
            if exc.code != "crypto.suite_mismatch":
                fail(2, f"{path}: {exc.code}: {exc}")
    fail(2, f"{path}: the key is of no eledger suite ({', '.join(s.value for s in Suite)})")


def _grant(path: Path, not_before: str | None, not_after: str | None) -> KeyGrant:
    public_key, window = read_public_key(path)
    start = parse_time(not_before, "--not-before") if not_before is not None else window[0] if window else wall_clock_ms()
    if not_after is not None:
        end = parse_time(not_after, "--not-after")
    else:
        end = window[1] if window else start + int(DEFAULT_KEY_LIFETIME.total_seconds() * 1000)
    with _building():
        return KeyGrant(public_key, start, end)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _fields(items: list[str] | None) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--field")
        fields[name] = value
    return fields


# -- governance (domain.md §3, region administrator) ----------------------------------------------


@tx_app.command("org-admit")
def org_admit(
    key: Key, uscc: Uscc, name: Annotated[str, typer.Option(help="The organisation's name.")],
    issuer_key: Annotated[list[Path], typer.Option("--issuer-key", help="A department key (repeatable): public-key, private-key or certificate PEM.")],
    types: Annotated[str, typer.Option("--types", help="Licence type codes it may issue, comma-separated.")] = "",
    not_before: NotBefore = None, not_after: NotAfter = None,
    chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None,
) -> None:
    """org.admit: admit a department with its keys and licence types."""
    client = _admin(key, chain_id, genesis)
    grants = [_grant(p, not_before, not_after) for p in issuer_key]
    with _building():
        _emit(client.admit_org(uscc, name, grants, _split(types)), out, append)


@tx_app.command("org-grant")
def org_grant(key: Key, uscc: Uscc, types: Types, chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None) -> None:
    """org.grant: let the organisation issue more licence types."""
    client = _admin(key, chain_id, genesis)
    with _building():
        _emit(client.grant_types(uscc, _split(types)), out, append)


@tx_app.command("org-key-add")
def org_key_add(
    key: Key, uscc: Uscc, issuer_key: IssuerKey, not_before: NotBefore = None, not_after: NotAfter = None,
    chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None,
) -> None:
    """org.key_add: register one more key of the organisation (rotation)."""
    client = _admin(key, chain_id, genesis)
    grant = _grant(issuer_key, not_before, not_after)
    with _building():
        _emit(client.add_key(uscc, grant), out, append)


@tx_app.command("org-key-revoke")
def org_key_revoke(
    key: Key, uscc: Uscc, reason: Reason,
    issuer_key: Annotated[Path | None, typer.Option("--issuer-key", help="The key to revoke (PEM file), or give --key-id.")] = None,
    key_id: Annotated[str | None, typer.Option("--key-id", help="The key id to revoke, base64url.")] = None,
    note: Note = None, chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None,
) -> None:
    """org.key_revoke: no transaction or seal signature can use the key from the block on."""
    if (issuer_key is None) == (key_id is None):
        fail(2, "give exactly one of --issuer-key and --key-id")
    client = _admin(key, chain_id, genesis)
    with _building():
        target = read_public_key(issuer_key)[0] if issuer_key is not None else b64decode(key_id, field="--key-id")  # type: ignore[arg-type]
        _emit(client.revoke_key(uscc, target, reason, note=note), out, append)


@tx_app.command("org-suspend")
def org_suspend(key: Key, uscc: Uscc, reason: Reason, note: Note = None, chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None) -> None:
    """org.suspend: the organisation can do nothing until resumed."""
    client = _admin(key, chain_id, genesis)
    with _building():
        _emit(client.suspend_org(uscc, reason, note=note), out, append)


@tx_app.command("org-resume")
def org_resume(key: Key, uscc: Uscc, reason: Reason, note: Note = None, chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None) -> None:
    """org.resume."""
    client = _admin(key, chain_id, genesis)
    with _building():
        _emit(client.resume_org(uscc, reason, note=note), out, append)


@tx_app.command("ltype-register")
def ltype_register(
    key: Key, code: Annotated[str, typer.Option(help="Type code: the defining authority's USCC and 3 digits.")],
    name: Annotated[str, typer.Option(help="The licence type's name.")],
    validity_required: Annotated[bool, typer.Option("--validity-required/--permanent-allowed", help="Whether every licence of the type needs valid_until.")],
    chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None,
) -> None:
    """ltype.register: a licence type any region's departments may be granted."""
    client = _admin(key, chain_id, genesis)
    with _building():
        _emit(client.register_type(code, name, validity_required=validity_required), out, append)


@tx_app.command("recognition-declare")
def recognition_declare(
    key: Key, from_region: Annotated[str, typer.Option(help="The region whose licences are accepted.")],
    type: Annotated[str, typer.Option("--type", help="Their type code.")], as_type: Annotated[str, typer.Option(help="Accepted as this type here.")],
    conditions: Annotated[str, typer.Option(help="Conditions, at most 256 characters.")] = "",
    chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None,
) -> None:
    """recognition.declare: this region accepts a type issued in another region as its own."""
    client = _admin(key, chain_id, genesis)
    with _building():
        _emit(client.declare_recognition(from_region, type, as_type, conditions), out, append)


@tx_app.command("recognition-withdraw")
def recognition_withdraw(
    key: Key, from_region: Annotated[str, typer.Option(help="The region of the rule.")], type: Annotated[str, typer.Option("--type", help="The rule's type code.")],
    chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None,
) -> None:
    """recognition.withdraw: delete one of this region's recognition rules."""
    client = _admin(key, chain_id, genesis)
    with _building():
        _emit(client.withdraw_recognition(from_region, type), out, append)


# -- seals (domain.md §4) --------------------------------------------------------------------------


@tx_app.command("seal-register")
def seal_register(
    key: Key, seal_id: SealIdOpt, owner: Annotated[str, typer.Option(help="USCC of the organisation owning the seal.")],
    name: Annotated[str, typer.Option(help="The seal's name.")], image: Annotated[Path, typer.Option(help="The seal image; its SHA-256 is registered.", exists=True, dir_okay=False)],
    valid_from: Annotated[str, typer.Option(help="Seal valid from (ms, date or ISO date-time).")],
    valid_until: Annotated[str, typer.Option(help="Seal valid until.")],
    seal_type: Annotated[str, typer.Option("--type", help="official, contract, finance, licence or personal.")] = "licence",
    signer: Annotated[list[Path] | None, typer.Option("--signer", help="A key allowed to seal (PEM file, repeatable; default: --key).")] = None,
    chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None,
) -> None:
    """seal.register: a seal of an organisation and the keys that may seal with it."""
    client = _client(key, chain_id, genesis)
    signers = [read_public_key(p)[0] for p in signer] if signer else [client.key.public_key]
    image_hash = hashlib.sha256(image.read_bytes()).digest()
    start, end = parse_time(valid_from, "--valid-from"), parse_time(valid_until, "--valid-until")
    with _building():
        _emit(client.register_seal(seal_id, owner=owner, name=name, type=seal_type, image_hash=image_hash, signers=signers, valid_from=start, valid_until=end), out, append)


@tx_app.command("seal-revoke")
def seal_revoke(key: Key, seal_id: SealIdOpt, reason: Reason, note: Note = None, chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None) -> None:
    """seal.revoke: the seal can make no new signature from the block on."""
    client = _client(key, chain_id, genesis)
    with _building():
        _emit(client.revoke_seal(seal_id, reason, note=note), out, append)


@tx_app.command("seal-sign")
def seal_sign(
    key: Key, uscc: Uscc, seal_id: SealIdOpt,
    file: Annotated[Path | None, typer.Option("--file", help="Seal this file (its SHA-256), or give --document-hash.", exists=True, dir_okay=False)] = None,
    document_hash: Annotated[str | None, typer.Option("--document-hash", help="The 32-byte document hash, hex.")] = None,
    signing_time: SigningTime = None, chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None,
) -> None:
    """seal.sign: record a seal signature over a document hash; --key must be a signer of the seal."""
    if (file is None) == (document_hash is None):
        fail(2, "give exactly one of --file and --document-hash")
    try:
        digest = hashlib.sha256(file.read_bytes()).digest() if file is not None else bytes.fromhex(document_hash)  # type: ignore[arg-type]
    except ValueError:
        fail(2, "--document-hash must be 64 hexadecimal digits")
    client = _department(key, chain_id, genesis, uscc, seal_id)
    at = None if signing_time is None else parse_time(signing_time, "--signing-time")
    with _building():
        _emit(client.record_seal_signature(digest, signing_time=at), out, append)


# -- licences (domain.md §5) -----------------------------------------------------------------------


@tx_app.command("licence-issue")
def licence_issue(
    uscc: Uscc, seal_id: SealIdOpt, issuer_name: IssuerName, documents: Documents,
    type: Annotated[str, typer.Option("--type", help="Licence type code.")], serial: Annotated[str, typer.Option(help="Serial, 1..20 digits.")],
    holder_name: Annotated[str, typer.Option(help="The holder's name.")], issue_date: Annotated[str, typer.Option(help="YYYY-MM-DD.")],
    valid_from: Annotated[str, typer.Option(help="YYYY-MM-DD.")], type_name: Annotated[str, typer.Option(help="The licence type's name.")],
    holder_uscc: Annotated[str | None, typer.Option(help="An enterprise holder's USCC.")] = None,
    holder_id_number: Annotated[str | None, typer.Option(help="A person holder's ID number (never sent to the ledger).")] = None,
    valid_until: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: permanent).")] = None,
    commitment_deadline: Annotated[str | None, typer.Option(help="Notification-commitment inspection deadline, YYYY-MM-DD.")] = None,
    field: Field = None, key: IssueKey = None, seal_key: SealKey = None, signing_time: SigningTime = None,
    chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None,
) -> None:
    """licence.issue: seal a new licence document and write it for the holder; the seal
    signature (by --seal-key, default --key) is the transaction's signature."""
    if key is None and seal_key is None:
        raise typer.BadParameter("give --key or --seal-key: the key that seals the document signs its licence.issue", param_hint="--key")
    client = _department(key if key is not None else seal_key, chain_id, genesis, uscc, seal_id, seal_key, issuer_name)  # type: ignore[arg-type]
    row = {
        **_fields(field), "type": type, "type_name": type_name, "serial": serial, "holder_uscc": holder_uscc, "holder_name": holder_name,
        "holder_id_number": holder_id_number, "issue_date": issue_date, "valid_from": valid_from, "valid_until": valid_until,
        "commitment_deadline": commitment_deadline,
    }
    at = None if signing_time is None else parse_time(signing_time, "--signing-time")
    with _building():
        tx, document = client.issue_licence(draft_from_row(client, row, parse_type_names(None)), signing_time=at)
        documents.mkdir(mode=0o700, parents=True, exist_ok=True)
        typer.echo(f"document: {write_holder_document(documents, document)}", err=True)
        _emit(tx, out, append)


def _new_version(
    kind: str, key: Path, uscc: str, seal_id: str, documents: Path, previous: Path, reason: str, note: str | None, changes: dict[str, object],
    seal_key: Path | None, signing_time: str | None, chain_id: str | None, genesis: Path | None, out: Path | None, append: Path | None,
) -> None:
    client = _department(key, chain_id, genesis, uscc, seal_id, seal_key)
    at = None if signing_time is None else parse_time(signing_time, "--signing-time")
    with _building():
        old = read_document(previous).licence
        fields = changes.pop("fields")
        if fields:
            changes["fields"] = {**dict(old.fields), **fields}  # type: ignore[dict-item]
        part = client.next_licence(old, **{k: v for k, v in changes.items() if v is not None})
        if kind == "licence.change":
            tx, document = client.change_licence(part, reason, note=note, new_holder=part.holder != old.holder, signing_time=at)
        else:
            tx, document = client.renew_licence(part, reason, note=note, signing_time=at)
        documents.mkdir(mode=0o700, parents=True, exist_ok=True)
        typer.echo(f"document: {write_holder_document(documents, document)}", err=True)
        _emit(tx, out, append)


PreviousDocument = Annotated[Path, typer.Option("--document", help="The current version's document file.", exists=True, dir_okay=False)]
NewIssueDate = Annotated[str | None, typer.Option("--issue-date", help="New issue date, YYYY-MM-DD (default: unchanged).")]
NewValidFrom = Annotated[str | None, typer.Option("--valid-from", help="New first valid day (default: unchanged).")]
NewValidUntil = Annotated[str | None, typer.Option("--valid-until", help="New last valid day (default: unchanged).")]


@tx_app.command("licence-change")
def licence_change(
    key: Key, uscc: Uscc, seal_id: SealIdOpt, documents: Documents, document: PreviousDocument, reason: Reason,
    holder_name: Annotated[str | None, typer.Option(help="The holder's new name (same kind of holder).")] = None,
    issue_date: NewIssueDate = None, valid_from: NewValidFrom = None, valid_until: NewValidUntil = None, field: Field = None,
    note: Note = None, seal_key: SealKey = None, signing_time: SigningTime = None,
    chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None,
) -> None:
    """licence.change: the next version of a licence with changed contents (a new document)."""
    holder = None
    if holder_name is not None:
        holder = dataclasses.replace(read_document(document).licence.holder, name=holder_name)
    changes = {"holder": holder, "issue_date": issue_date, "valid_from": valid_from, "valid_until": valid_until, "fields": _fields(field)}
    _new_version("licence.change", key, uscc, seal_id, documents, document, reason, note, changes, seal_key, signing_time, chain_id, genesis, out, append)


@tx_app.command("licence-renew")
def licence_renew(
    key: Key, uscc: Uscc, seal_id: SealIdOpt, documents: Documents, document: PreviousDocument, reason: Reason,
    valid_until: NewValidUntil = None, valid_from: NewValidFrom = None, issue_date: NewIssueDate = None,
    note: Note = None, seal_key: SealKey = None, signing_time: SigningTime = None,
    chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None,
) -> None:
    """licence.renew: the next version of a licence with a new validity window."""
    changes = {"issue_date": issue_date, "valid_from": valid_from, "valid_until": valid_until, "fields": {}}
    _new_version("licence.renew", key, uscc, seal_id, documents, document, reason, note, changes, seal_key, signing_time, chain_id, genesis, out, append)


def _status_command(kind: str, method: str, doc: str) -> None:
    def command(key: Key, id: LicenceIdOpt, reason: Reason, note: Note = None, chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None) -> None:
        client = _client(key, chain_id, genesis)
        with _building():
            _emit(getattr(client, method)(id, reason, note=note), out, append)

    command.__doc__ = doc
    tx_app.command(kind)(command)


_status_command("licence-suspend", "suspend", "licence.suspend (暂扣): valid → suspended.")
_status_command("licence-resume", "resume", "licence.resume: suspended → valid.")
_status_command("licence-revoke", "revoke", "licence.revoke (吊销): final.")
_status_command("licence-annul", "annul", "licence.annul (撤销): final; also a failed commitment inspection.")
_status_command("licence-cancel", "cancel", "licence.cancel (注销): final.")


@tx_app.command("licence-confirm")
def licence_confirm(key: Key, id: LicenceIdOpt, note: Note = None, chain_id: ChainId = None, genesis: GenesisFile = None, out: Out = None, append: Append = None) -> None:
    """licence.confirm: the notification-commitment inspection passed."""
    client = _client(key, chain_id, genesis)
    with _building():
        _emit(client.confirm(id, note=note), out, append)
