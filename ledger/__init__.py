"""eledger's verifiable core: encoding, crypto suites, Merkle structures, transactions, blocks,
storage and audit.

Pure: nothing in this package opens a socket, reads the clock or draws randomness on its own
(key generation and nonces take an injected source where determinism matters). Only
`ledger.store` imports plyvel.
"""
