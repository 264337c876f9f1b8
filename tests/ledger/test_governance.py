"""ledger.governance: organisations, keys, licence types and recognition rules, each kind
through real blocks (docs/spec/domain.md §3)."""

from __future__ import annotations

import os

import pytest

from ledger.crypto import PrivateKey
from ledger.encoding import b64encode
from ledger.errors import ValidationError
from ledger.governance import org_of_signer, read_cert_revocation, read_ltype, read_org, read_recognition, require_active_org
from ledger.identity import Identity, KeyStatus, Role, key_state_key
from ledger.ids import complete_uscc
from ledger.kv import Prefixed
from ledger.state import FLAT_PREFIX
from ledger.tx import Tx

from .conftest import GENESIS_TIME

YEAR_MS = 365 * 86_400_000


def uscc(n: int, division: str = "110000") -> str:
    """A valid USCC: an enterprise (91) of `division` with serial `n`."""
    return complete_uscc(f"91{division}{n:09d}")


def type_code(n: int) -> str:
    """A licence type code: a defining authority's USCC and 3 digits."""
    return complete_uscc("11100000000013338") + f"{n:03d}"


def grant(key: PrivateKey, not_before: int = GENESIS_TIME, not_after: int = GENESIS_TIME + YEAR_MS) -> dict[str, object]:
    return {"public_key": key.public_key.to_json(), "not_before": not_before, "not_after": not_after}


class Ledger:
    """One fresh chain of the test network, with block times GENESIS_TIME + k·1000."""

    def __init__(self, net) -> None:
        self.net = net
        self.local = net.local()
        self.state = Prefixed(self.local.chain.kv, FLAT_PREFIX)
        self.time = GENESIS_TIME

    @property
    def next_time(self) -> int:
        return self.time + 1000

    def signed(self, key: PrivateKey, kind: str, body: dict[str, object]) -> Tx:
        return Tx.create(self.net.genesis.chain_id, kind, body, key, os.urandom(16))

    def admin(self, region: str, kind: str, body: dict[str, object]) -> Tx:
        return self.signed(self.net.admin_keys[region], kind, body)

    def produce(self, *txs: Tx):
        self.time += 1000
        return self.local.produce(txs, self.time)

    def accept(self, *txs: Tx) -> None:
        pending = self.produce(*txs)
        assert [r.error.to_dict() for r in pending.rejected] == []
        assert pending.block.txs == txs

    def codes(self, *txs: Tx) -> list[str]:
        """Submit `txs` in one block; every one must be rejected; their codes in order."""
        pending = self.produce(*txs)
        assert pending.block.txs == ()
        return [r.error.code for r in pending.rejected]

    def reject(self, tx: Tx) -> ValidationError:
        pending = self.produce(tx)
        assert pending.block.txs == () and len(pending.rejected) == 1
        return pending.rejected[0].error

    def identity(self, key: PrivateKey) -> Identity:
        return Identity.from_bytes(self.state.get(key_state_key(key.public_key.key_id)))

    def register_types(self, region: str, *numbers: int, validity_required: bool = True) -> list[str]:
        codes = [type_code(n) for n in numbers]
        self.accept(*(self.admin(region, "ltype.register", {"code": c, "name": f"type {c[-3:]}", "validity_required": validity_required}) for c in codes))
        return codes

    def admit(self, region: str, code: str, *keys: PrivateKey, types: list[str] | None = None) -> None:
        body = {"uscc": code, "name": f"department {code}", "keys": [grant(k) for k in keys], "licence_types": types or []}
        self.accept(self.admin(region, "org.admit", body))


@pytest.fixture
def ledger(net) -> Ledger:
    return Ledger(net)


def test_every_governance_kind_is_accepted_and_writes_its_record(ledger):
    t1, t2 = ledger.register_types("beijing", 1, 2)
    (t3,) = ledger.register_types("tianjin", 3, validity_required=False)
    assert read_ltype(ledger.state, t3) == {"code": t3, "name": "type 003", "region": "tianjin", "validity_required": False}
    org, k1, k2 = uscc(1), PrivateKey.generate(), PrivateKey.generate()
    ledger.admit("beijing", org, k1, types=[t2])
    ledger.accept(ledger.admin("beijing", "org.grant", {"uscc": org, "licence_types": [t1, t2]}))
    ledger.accept(ledger.admin("beijing", "org.key_add", {"uscc": org, "key": grant(k2)}))
    assert read_org(ledger.state, org) == {
        "uscc": org, "name": f"department {org}", "region": "beijing", "status": "active",
        "licence_types": [t1, t2], "keys": [b64encode(k1.public_key.key_id), b64encode(k2.public_key.key_id)],
    }
    assert ledger.identity(k2) == Identity(k2.public_key, Role.ISSUER, "beijing", org, GENESIS_TIME, GENESIS_TIME + YEAR_MS)
    revoke_time = ledger.next_time
    ledger.accept(ledger.admin("beijing", "org.key_revoke", {"uscc": org, "key_id": k1.public_key.key_id, "reason": "key_lost", "note": "token lost"}))
    assert (ledger.identity(k1).status, ledger.identity(k1).revoked_at) == (KeyStatus.REVOKED, revoke_time)
    ledger.accept(ledger.admin("beijing", "org.suspend", {"uscc": org, "reason": "inspection"}))
    assert read_org(ledger.state, org)["status"] == "suspended"
    ledger.accept(ledger.admin("beijing", "org.resume", {"uscc": org, "reason": "inspection_passed"}))
    assert read_org(ledger.state, org)["status"] == "active"
    declare_time = ledger.next_time
    ledger.accept(ledger.admin("beijing", "recognition.declare", {"from_region": "tianjin", "type": t3, "as_type": t1, "conditions": "original on request"}))
    assert read_recognition(ledger.state, "beijing", "tianjin", t3) == {"as_type": t1, "conditions": "original on request", "declared_at": declare_time}
    ledger.accept(ledger.admin("beijing", "recognition.withdraw", {"from_region": "tianjin", "type": t3}))
    assert read_recognition(ledger.state, "beijing", "tianjin", t3) is None


def test_admit_errors(ledger, net):
    (t1,) = ledger.register_types("beijing", 1)
    k = PrivateKey.generate()
    ledger.admit("beijing", uscc(1), k)
    fresh = PrivateKey.generate()

    def admit(code: str, *grants: dict[str, object], types: list[str] | None = None) -> Tx:
        return ledger.admin("beijing", "org.admit", {"uscc": code, "name": "d", "keys": list(grants), "licence_types": types or []})

    bad_key = grant(fresh)
    bad_key["public_key"] = {"suite": "p256", "spki": "AAAA"}
    assert ledger.codes(
        admit(uscc(1), grant(fresh)),
        admit(uscc(2)[:-1] + ("0" if uscc(2)[-1] != "0" else "1"), grant(fresh)),
        admit(uscc(2), grant(k)),
        admit(uscc(2), grant(fresh), grant(fresh)),
        admit(uscc(2), grant(net.admin_keys["hebei"])),
        admit(uscc(2), grant(fresh), types=[type_code(9)]),
        admit(uscc(2), grant(fresh), types=[t1, t1]),
        admit(uscc(2), grant(fresh), types=["not-a-type"]),
        admit(uscc(2), grant(fresh, GENESIS_TIME, GENESIS_TIME)),
        admit(uscc(2), bad_key),
        admit(uscc(2)),
    ) == [
        "org.exists", "ids.bad_uscc", "identity.exists", "identity.exists", "identity.exists", "ltype.unknown",
        "validation.duplicate", "ids.bad_type_code", "validation.range", "identity.bad_key", "validation.length",
    ]


def test_admit_error_names_the_field(ledger):
    error = ledger.reject(ledger.admin("beijing", "org.admit", {"uscc": "91350100M000100Y44", "name": "d", "keys": [grant(PrivateKey.generate())], "licence_types": []}))
    assert (error.code, error.field, error.expected) == ("ids.bad_uscc", "tx.body.uscc", "3")


def test_org_change_errors(ledger):
    (t1,) = ledger.register_types("beijing", 1)
    k, other = PrivateKey.generate(), PrivateKey.generate()
    ledger.admit("beijing", uscc(1), k)
    ledger.admit("beijing", uscc(2), other)
    ledger.accept(ledger.admin("beijing", "org.key_revoke", {"uscc": uscc(2), "key_id": other.public_key.key_id, "reason": "rotated"}))

    def admin(kind: str, body: dict[str, object]) -> Tx:
        return ledger.admin("beijing", kind, body)

    assert ledger.codes(
        admin("org.grant", {"uscc": uscc(3), "licence_types": [t1]}),
        admin("org.grant", {"uscc": uscc(1), "licence_types": [type_code(9)]}),
        admin("org.grant", {"uscc": uscc(1), "licence_types": []}),
        admin("org.key_add", {"uscc": uscc(1), "key": grant(k)}),
        admin("org.key_revoke", {"uscc": uscc(1), "key_id": PrivateKey.generate().public_key.key_id, "reason": "lost"}),
        admin("org.key_revoke", {"uscc": uscc(1), "key_id": other.public_key.key_id, "reason": "lost"}),
        admin("org.key_revoke", {"uscc": uscc(2), "key_id": other.public_key.key_id, "reason": "lost"}),
        admin("org.key_revoke", {"uscc": uscc(1), "key_id": k.public_key.key_id, "reason": "Lost"}),
        admin("org.resume", {"uscc": uscc(1), "reason": "ok"}),
        admin("org.suspend", {"uscc": uscc(1), "reason": "x", "note": "n" * 257}),
    ) == [
        "org.unknown", "ltype.unknown", "validation.length", "identity.exists", "identity.unknown",
        "identity.not_of_org", "identity.revoked", "validation.format", "org.status", "validation.length",
    ]
    ledger.accept(admin("org.suspend", {"uscc": uscc(1), "reason": "inspection"}))
    assert ledger.codes(admin("org.suspend", {"uscc": uscc(1), "reason": "inspection"})) == ["org.status"]


def test_ltype_and_recognition_errors(ledger):
    (t1,) = ledger.register_types("beijing", 1)
    (t3,) = ledger.register_types("tianjin", 3)
    ledger.accept(ledger.admin("beijing", "recognition.declare", {"from_region": "tianjin", "type": t3, "as_type": t1, "conditions": ""}))

    def declare(from_region: str, t: str, as_type: str) -> Tx:
        return ledger.admin("beijing", "recognition.declare", {"from_region": from_region, "type": t, "as_type": as_type, "conditions": ""})

    assert ledger.codes(
        ledger.admin("hebei", "ltype.register", {"code": t1, "name": "again", "validity_required": True}),
        ledger.admin("hebei", "ltype.register", {"code": t1[:-1], "name": "short", "validity_required": True}),
        ledger.admin("hebei", "ltype.register", {"code": type_code(5), "name": "x", "validity_required": "yes"}),
        declare("beijing", t3, t1),
        declare("shanghai", t3, t1),
        declare("hebei", type_code(7), t1),
        declare("hebei", t3, type_code(7)),
        declare("tianjin", t3, t1),
        ledger.admin("beijing", "recognition.withdraw", {"from_region": "hebei", "type": t3}),
    ) == [
        "ltype.exists", "ids.bad_type_code", "validation.type", "recognition.same_region", "recognition.unknown_region",
        "ltype.unknown", "ltype.unknown", "recognition.exists", "recognition.unknown",
    ]


def test_no_region_can_act_for_another(ledger):
    (t1,) = ledger.register_types("beijing", 1)
    (t3,) = ledger.register_types("tianjin", 3)
    k = PrivateKey.generate()
    ledger.admit("beijing", uscc(1), k)
    ledger.accept(ledger.admin("beijing", "recognition.declare", {"from_region": "tianjin", "type": t3, "as_type": t1, "conditions": ""}))

    def tianjin(kind: str, body: dict[str, object]) -> Tx:
        return ledger.admin("tianjin", kind, body)

    assert ledger.codes(
        tianjin("org.admit", {"uscc": uscc(1), "name": "d", "keys": [grant(PrivateKey.generate())], "licence_types": []}),
        tianjin("org.grant", {"uscc": uscc(1), "licence_types": [t3]}),
        tianjin("org.key_add", {"uscc": uscc(1), "key": grant(PrivateKey.generate())}),
        tianjin("org.key_revoke", {"uscc": uscc(1), "key_id": k.public_key.key_id, "reason": "hostile"}),
        tianjin("org.suspend", {"uscc": uscc(1), "reason": "hostile"}),
        tianjin("recognition.withdraw", {"from_region": "tianjin", "type": t3}),
    ) == ["gov.other_region"] * 5 + ["recognition.same_region"]
    # tianjin's declaration lands in tianjin's rules only; beijing's rule is untouched.
    ledger.accept(tianjin("recognition.declare", {"from_region": "beijing", "type": t1, "as_type": t3, "conditions": ""}))
    assert read_recognition(ledger.state, "tianjin", "beijing", t1)["as_type"] == t3
    assert read_recognition(ledger.state, "beijing", "beijing", t1) is None
    assert read_recognition(ledger.state, "beijing", "tianjin", t3)["as_type"] == t1
    assert ledger.codes(tianjin("recognition.withdraw", {"from_region": "hebei", "type": t3})) == ["recognition.unknown"]
    assert read_org(ledger.state, uscc(1))["region"] == "beijing"
    assert ledger.identity(k).status is KeyStatus.ACTIVE


def test_only_region_admins_govern(ledger):
    k = PrivateKey.generate()
    ledger.admit("beijing", uscc(1), k)
    tx = ledger.signed(k, "ltype.register", {"code": type_code(1), "name": "mine", "validity_required": False})
    validator = ledger.signed(ledger.net.validator_keys[0], "org.suspend", {"uscc": uscc(1), "reason": "x"})
    assert ledger.codes(tx, validator) == ["tx.forbidden", "tx.forbidden"]


def test_revoked_key_cannot_sign_afterwards_even_in_the_same_block(ledger):
    k = PrivateKey.generate()
    ledger.admit("beijing", uscc(1), k)
    ledger.accept(ledger.signed(k, "document.anchor", {"document_hash": os.urandom(32)}))
    revoke = ledger.admin("beijing", "org.key_revoke", {"uscc": uscc(1), "key_id": k.public_key.key_id, "reason": "compromised"})
    same_block = ledger.signed(k, "document.anchor", {"document_hash": os.urandom(32)})
    pending = ledger.produce(revoke, same_block)
    assert pending.block.txs == (revoke,) and [r.error.code for r in pending.rejected] == ["tx.signer_revoked"]
    later = ledger.signed(k, "document.anchor", {"document_hash": os.urandom(32)})
    assert ledger.reject(later).code == "tx.signer_revoked"


def test_key_window_limits_signing(ledger):
    late = PrivateKey.generate()
    body = {"uscc": uscc(1), "name": "d", "keys": [grant(late, GENESIS_TIME + 10**9, GENESIS_TIME + 2 * 10**9)], "licence_types": []}
    ledger.accept(ledger.admin("beijing", "org.admit", body))
    assert ledger.reject(ledger.signed(late, "document.anchor", {"document_hash": os.urandom(32)})).code == "tx.signer_expired"


def test_org_helpers_raise_precise_errors(ledger, net):
    k = PrivateKey.generate()
    ledger.admit("beijing", uscc(1), k)
    assert org_of_signer(ledger.state, ledger.identity(k))["uscc"] == uscc(1)
    admin = Identity.from_bytes(ledger.state.get(key_state_key(net.admin_keys["beijing"].public_key.key_id)))
    with pytest.raises(ValidationError) as info:
        org_of_signer(ledger.state, admin)
    assert info.value.code == "org.unknown"
    with pytest.raises(ValidationError) as info:
        require_active_org(ledger.state, uscc(2), "tx.body.owner")
    assert (info.value.code, info.value.field) == ("org.unknown", "tx.body.owner")
    ledger.accept(ledger.admin("beijing", "org.suspend", {"uscc": uscc(1), "reason": "inspection"}))
    for call in (lambda: org_of_signer(ledger.state, ledger.identity(k)), lambda: require_active_org(ledger.state, uscc(1), "f")):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.code == "org.status"


# -- certificate revocation (domain.md §3) --------------------------------------------------------


def test_cert_revoke_records_the_revocation_under_the_admins_region(ledger):
    at = ledger.next_time
    ledger.accept(ledger.admin("tianjin", "cert.revoke", {"serial": "3f2a0c", "reason": "key_compromise", "note": "laptop stolen"}))
    assert read_cert_revocation(ledger.state, "tianjin", "3f2a0c") == {"reason": {"code": "key_compromise", "note": "laptop stolen"}, "revoked_at": at}
    assert ledger.state.get(b"certrev/tianjin/3f2a0c") is not None
    assert read_cert_revocation(ledger.state, "beijing", "3f2a0c") is None  # serials are per region CA
    ledger.accept(ledger.admin("beijing", "cert.revoke", {"serial": "3f2a0c", "reason": "superseded"}))
    assert read_cert_revocation(ledger.state, "beijing", "3f2a0c") == {"reason": {"code": "superseded", "note": None}, "revoked_at": ledger.time}


def test_cert_revoke_is_final(ledger):
    ledger.accept(ledger.admin("hebei", "cert.revoke", {"serial": "1", "reason": "left_office"}))
    error = ledger.reject(ledger.admin("hebei", "cert.revoke", {"serial": "1", "reason": "left_office"}))
    assert (error.code, error.field) == ("certrev.exists", "tx.body.serial")
    assert read_cert_revocation(ledger.state, "hebei", "1")["revoked_at"] == ledger.time - 1000


@pytest.mark.parametrize(
    "body, code, field",
    [
        ({"serial": "0", "reason": "x"}, "validation.format", "serial"),
        ({"serial": "03f", "reason": "x"}, "validation.format", "serial"),
        ({"serial": "3F", "reason": "x"}, "validation.format", "serial"),
        ({"serial": "3g", "reason": "x"}, "validation.format", "serial"),
        ({"serial": "f" * 41, "reason": "x"}, "validation.length", "serial"),
        ({"serial": "", "reason": "x"}, "validation.length", "serial"),
        ({"serial": 63, "reason": "x"}, "validation.type", "serial"),
        ({"serial": "3f", "reason": "Bad Reason"}, "validation.format", "reason"),
        ({"serial": "3f", "reason": "x", "note": "n" * 257}, "validation.length", "note"),
        ({"serial": "3f"}, "validation.missing_field", "reason"),
        ({"serial": "3f", "reason": "x", "region": "beijing"}, "validation.unknown_field", "region"),
    ],
)
def test_cert_revoke_body_errors_name_the_field(ledger, body, code, field):
    error = ledger.reject(ledger.admin("beijing", "cert.revoke", body))
    assert (error.code, error.field) == (code, f"tx.body.{field}")


def test_cert_revoke_accepts_a_serial_of_forty_hex_digits(ledger):
    serial = "7" + "f" * 39
    ledger.accept(ledger.admin("xiongan", "cert.revoke", {"serial": serial, "reason": "x"}))
    assert read_cert_revocation(ledger.state, "xiongan", serial) is not None


def test_only_region_admins_revoke_certificates(ledger):
    k = PrivateKey.generate()
    ledger.admit("beijing", uscc(1), k)
    body = {"serial": "3f", "reason": "x"}
    assert ledger.codes(ledger.signed(k, "cert.revoke", body), ledger.signed(ledger.net.validator_keys[0], "cert.revoke", body)) == ["tx.forbidden", "tx.forbidden"]
