"""Client library of eledger: what departments, administrators, partner regions and window staff
run on their own machines. `client.signing` builds and signs transactions with the caller's keys;
`client.http` talks to a node's HTTP API. The command line (`eledger`), the devnet seeding and the
benchmarks use this package; nothing here imports the command-line package or the node.
"""
