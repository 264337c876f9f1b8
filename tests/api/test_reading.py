"""api.reading and the verify route's reads: the tip's flat state remembers what it read, and a
verdict over a remote store (one with `get_many`, as the gateway's) costs two round trips, the
same verdict as over a local one."""

from __future__ import annotations

import pytest

from api.licence_schemas import VerifyRequest
from api.reading import TipState, as_of, as_parameter
from api.routers.verify import judge
from ledger.errors import ValidationError
from ledger.view import ChainView
from tests.api.world import PURPOSE, make_world


class CountingKV:
    """A snapshot reader that counts its reads; with `batched`, it also has `get_many`."""

    def __init__(self, kv) -> None:
        self.kv = kv
        self.gets = 0
        self.batches: list[int] = []

    def get(self, key):
        self.gets += 1
        return self.kv.get(key)

    def iterate(self, prefix, start=None):
        return self.kv.iterate(prefix, start)


class BatchedKV(CountingKV):
    def get_many(self, keys):
        self.batches.append(len(keys))
        return [self.kv.get(key) for key in keys]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("reading") / "net")
    yield world
    world.close()


def counted(world, kv_type):
    kv = kv_type(world.service.chain.kv.snapshot())
    view = ChainView(kv, world.service.genesis, world.service.chain.tip)

    class Service:
        genesis = world.service.genesis

        def view(self):
            return view

    return Service(), kv


def test_tip_state_reads_each_key_once_and_prefetches_in_one_batch(world):
    _, kv = counted(world, BatchedKV)
    state = TipState(ChainView(kv, world.service.genesis, world.service.chain.tip))
    assert state.height == world.service.chain.height
    state.prefetch([b"region/beijing", b"region/tianjin", b"region/beijing", b"region/macau"])
    assert kv.batches == [3] and kv.gets == 0
    assert state.get(b"region/beijing") is not None and state.get(b"region/macau") is None
    state.prefetch([b"region/beijing"])
    assert kv.batches == [3] and kv.gets == 0
    assert state.get(b"region/hebei") is not None and kv.gets == 1


def test_a_verdict_over_a_remote_store_costs_two_round_trips_and_agrees_with_a_local_one(world):
    doc = world.document(1)
    world.issue(doc)
    for body in ({"licence_id": doc.licence.id}, {"qr": world.qr(doc)}):
        asked = VerifyRequest.model_validate({**body, "purpose": PURPOSE})
        remote, batched = counted(world, BatchedKV)
        local, single = counted(world, CountingKV)
        answer = judge(remote, asked, "tianjin", world.now)
        assert answer == judge(local, asked, "tianjin", world.now) and answer["verdict"] == "valid"
        assert len(batched.batches) == 2 and batched.gets == 0
        assert single.gets >= 7  # region, record, org, type, seal, key, rule: each its own read


def test_as_of_and_parameter_names(world):
    view = world.service.view()
    assert as_of(view)["height"] == view.height
    error = ValidationError("bad", code="query.bad_cursor", field="after")
    renamed = as_parameter(error, "query", ["after"])
    assert (renamed.code, renamed.fields["field"], str(renamed)) == ("query.bad_cursor", "query.after", "bad")
    assert as_parameter(error, "query", ["limit"]) is error
