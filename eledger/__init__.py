"""The `eledger` command: assembles the command-line groups of ledger, certs, node and api.

Top of the dependency graph; nothing imports it.
"""
