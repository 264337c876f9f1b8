"""The ledger explorer under `/explorer` (issue 11 §2): `pages` has the routes, `reads` what they
read from one ChainView, `sentences` what each transaction kind means in zh and en, `messages`
the explorer's words. Must never show what the caller's role may not read through the API."""

from __future__ import annotations

from api.web.explorer.pages import router

__all__ = ["router"]
