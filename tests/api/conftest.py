"""Fixtures of the API tests: a real in-memory node service (tests/api/service.py) behind the
app, over a network with a real PKI (tests/api/pki.py), one per test module. The default client
presents the Beijing administrator's certificate, as the node's HTTPS server would pass it: it
may submit transactions and read everything; tests of who may call what present others."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from certs.roles import Role
from tests.api.pki import make_pki, presenting
from tests.api.service import LocalNodeService


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("api") / "net")


@pytest.fixture(scope="module")
def net(pki):
    return pki.net


@pytest.fixture
def service(net):
    service = LocalNodeService(net)
    yield service
    service.close()


@pytest.fixture
def client(service, pki):
    with TestClient(presenting(create_app(service), pki.pem("beijing", Role.REGION_ADMIN))) as client:
        yield client
