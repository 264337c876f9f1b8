"""Tests for ledger.crypto.sm3 against GB/T 32905-2016 Appendix A and an independent implementation."""

from __future__ import annotations

import gmssl_pyx
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.crypto import sm3


def test_gbt_32905_example_1_abc():
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_gbt_32905_example_2_abcd_times_16():
    assert sm3(b"abcd" * 16).hex() == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_sm3_matches_gmssl(data):
    assert sm3(data) == gmssl_pyx.sm3_hash(data)
