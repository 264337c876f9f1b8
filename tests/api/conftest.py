"""Fixtures of the API tests: a real in-memory node service (tests/api/service.py) behind the
app, one network of keys per test module."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.service import LocalNodeService
from tests.ledger.conftest import make_net


@pytest.fixture(scope="module")
def net():
    return make_net()


@pytest.fixture
def service(net):
    service = LocalNodeService(net)
    yield service
    service.close()


@pytest.fixture
def client(service):
    with TestClient(create_app(service)) as client:
        yield client
