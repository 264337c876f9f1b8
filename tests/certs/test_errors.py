"""certs.errors: the stable code list of `CertError`."""

from __future__ import annotations

from pathlib import Path

import pytest

import certs
from certs.errors import CODES, CertError
from ledger.errors import LedgerError


def test_cert_error_is_a_ledger_error_with_fields():
    error = CertError("expired", code="cert.expired", subject="CN=x", at="2025-01-01")
    assert isinstance(error, LedgerError)
    assert error.to_dict() == {
        "code": "cert.expired",
        "message": "expired",
        "subject": "CN=x",
        "at": "2025-01-01",
    }


def test_cert_error_refuses_unknown_code():
    with pytest.raises(ValueError, match="unknown certs error code"):
        CertError("x", code="cert.nonsense")


def test_every_code_is_raised_somewhere_in_certs():
    package = Path(certs.__file__).parent
    source = "".join(p.read_text() for p in package.glob("*.py") if p.name != "errors.py")
    unused = [code for code in CODES if f'"{code}"' not in source]
    assert unused == []
