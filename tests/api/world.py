"""A licence world for the verification-service tests: a real PKI network (tests/api/pki.py) as a
LocalNodeService, a Beijing department (the USCC of the PKI's Beijing issuer certificate) holding
two licence types with one seal, Tianjin recognising one of them, and helpers that issue and act
on licences through real blocks and call the app as any certificate holder.

The API's clock is fixed at `World.now` (one hour after the genesis), so verdicts do not depend
on when the tests run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient

import ledger.governance  # noqa: F401  (registers the governance kinds)
import ledger.licences  # noqa: F401  (registers the licence kinds)
import ledger.seals  # noqa: F401  (registers the seal kinds)
import ledger.uses  # noqa: F401  (registers use.record)
from api.main import create_app
from certs.layout import demo_uscc
from certs.roles import Role
from ledger.calendar import UTC_OFFSET_MS
from ledger.crypto import PrivateKey
from ledger.document import EnterpriseHolder, LicenceDocument, PersonHolder, build_licence, seal_document
from ledger.ids import complete_uscc, format_licence_id
from ledger.licence_bodies import issue_tx, version_body
from ledger.qr import encode_qr
from ledger.tx import Tx
from tests.api.pki import Pki, make_pki, presenting
from tests.api.service import LocalNodeService

DAY_MS = 86_400_000
TYPE = complete_uscc("11100000000013338") + "041"  # 食品经营许可证, Beijing; Tianjin recognises it
OTHER_TYPE = complete_uscc("11100000000013338") + "043"  # 药品经营许可证, Beijing; no rule in Tianjin
TIANJIN_TYPE = complete_uscc("11100000000013338") + "042"
HOLDER = EnterpriseHolder(complete_uscc("91110101MA0100000"), "北京某某商贸有限公司")
PERSON = PersonHolder("李四", "120101198805061234", bytes(range(16)))
PURPOSE = {"item_code": "TJ-SC-0012", "item_name": "食品经营许可跨省通办", "serial": "TJ2026120700017"}


@dataclass
class World:
    pki: Pki
    service: LocalNodeService
    dept_uscc: str
    dept_key: PrivateKey
    seal_id: str
    now: int
    _app: object = None
    _clients: dict[tuple[str, str], TestClient] = field(default_factory=dict)

    @property
    def chain_id(self) -> str:
        return self.service.genesis.chain_id

    # -- the ledger -----------------------------------------------------------------------------

    def commit(self, *txs: Tx) -> None:
        """Commit `txs` in one block; every one must be accepted."""

        async def submit() -> None:
            for tx in txs:
                await self.service.submit(tx, wait=False, timeout_s=0)

        asyncio.run(submit())
        pending = self.service.produce()
        assert [r.error.to_dict() for r in pending.rejected] == []

    def admin(self, region: str, kind: str, body: dict[str, object]) -> Tx:
        return Tx.create(self.chain_id, kind, body, self.pki.network.admin_keys[region], os.urandom(16))

    def signed(self, kind: str, body: dict[str, object]) -> Tx:
        return Tx.create(self.chain_id, kind, body, self.dept_key, os.urandom(16))

    def document(
        self, serial: int, *, version: str = "001", type: str = TYPE, holder=HOLDER, valid_until: dt.date | None = None,
        deadline: dt.date | None = None, place: str = "北京市东城区",
    ) -> LicenceDocument:
        """A sealed document: in force from 30 days before the genesis for a year (or to `valid_until`)."""
        start = day_of(self.service.genesis.genesis_time) - dt.timedelta(days=30)
        part = build_licence(
            id=format_licence_id(type, self.dept_uscc, str(serial), version), type_name="食品经营许可证", issuer_name="北京市某区市场监督管理局",
            holder=holder, issue_date=start, valid_from=start, valid_until=valid_until or start + dt.timedelta(days=365),
            commitment_deadline=deadline, fields={"经营场所": place},
        )
        return seal_document(part, self.dept_key, self.chain_id, self.seal_id, self.service.chain.tip.time)

    def issue(self, *docs: LicenceDocument) -> None:
        self.commit(*(issue_tx(d, self.chain_id) for d in docs))

    def act(self, kind: str, licence_id: str, reason: str = "inspection") -> None:
        self.commit(self.signed(kind, {"id": licence_id, "reason": reason}))

    def renew(self, old: LicenceDocument, new: LicenceDocument) -> None:
        self.commit(self.signed("licence.renew", version_body(new, old.licence.id, "expiry")))

    def qr(self, doc: LicenceDocument) -> str:
        return encode_qr(doc, self.chain_id)

    # -- the API --------------------------------------------------------------------------------

    def client(self, region: str | None = None, role: Role | str | None = None) -> TestClient:
        """A client presenting the first certificate of `role` in `region` (None: anonymous)."""
        key = (region or "", str(getattr(role, "value", role or "")))
        if key not in self._clients:
            pem = None if role is None else self.pki.pem(region, role)  # type: ignore[arg-type]
            client = TestClient(presenting(self._app, pem))
            client.__enter__()
            self._clients[key] = client
        return self._clients[key]

    def close(self) -> None:
        for client in self._clients.values():
            client.__exit__(None, None, None)
        self._clients.clear()
        self.service.close()


def day_of(time_ms: int) -> dt.date:
    """The UTC+8 calendar day of `time_ms`."""
    return dt.date(1970, 1, 1) + dt.timedelta(days=(time_ms + UTC_OFFSET_MS) // DAY_MS)


def make_world(directory: Path) -> World:
    pki = make_pki(directory)
    service = LocalNodeService(pki.net, home=directory / "node")
    genesis_time = service.genesis.genesis_time
    world = World(pki, service, demo_uscc("beijing"), PrivateKey.generate(), "BJSEAL0001", genesis_time + 3600_000)
    world._app = create_app(service, clock=lambda: world.now / 1000)
    window = {"not_before": genesis_time - 30 * DAY_MS, "not_after": genesis_time + 2 * 365 * DAY_MS}
    world.commit(
        world.admin("beijing", "ltype.register", {"code": TYPE, "name": "食品经营许可证", "validity_required": False}),
        world.admin("beijing", "ltype.register", {"code": OTHER_TYPE, "name": "药品经营许可证", "validity_required": False}),
        world.admin("tianjin", "ltype.register", {"code": TIANJIN_TYPE, "name": "食品经营许可证(津)", "validity_required": False}),
    )
    world.commit(world.admin("beijing", "org.admit", {
        "uscc": world.dept_uscc, "name": "北京市市场监督管理局", "licence_types": [TYPE, OTHER_TYPE],
        "keys": [{"public_key": world.dept_key.public_key.to_json(), **window}],
    }))
    world.commit(
        world.signed("seal.register", {
            "seal_id": world.seal_id, "owner": world.dept_uscc, "name": "licence seal", "type": "licence", "image_hash": bytes(32),
            "signers": [world.dept_key.public_key.key_id], "valid_from": window["not_before"], "valid_until": window["not_after"],
        }),
        world.admin("tianjin", "recognition.declare", {"from_region": "beijing", "type": TYPE, "as_type": TIANJIN_TYPE, "conditions": "原件备查"}),
    )
    return world
