"""Durable storage: the only place in eledger that imports plyvel (LevelDB)."""

from ledger.store.kv import LevelKV

__all__ = ["LevelKV"]
