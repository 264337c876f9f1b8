"""One named check of a verdict and its outcome (seal signatures, licences).

A verification that must explain itself to a person (window staff, a partner region) runs every
check and reports each one; execution runs the same checks and raises on the first that did not
pass. `ok` is True (passed), False (failed) or None (could not be decided, e.g. the seal a later
check needs does not exist). This module holds values only: it never reads state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """`name` is stable and machine-readable ("seal.signer_allowed"); `detail` is for people."""

    name: str
    ok: bool | None
    detail: str


def first_failure(checks: Iterable[Check]) -> Check | None:
    """The first check that did not pass (failed or undecided), or None if all passed."""
    for check in checks:
        if check.ok is not True:
            return check
    return None
