"""A node's API process (docs/node.md "The API process"): `supervisor` is the node's side (start,
restart, stop), `main` the child's (serve HTTPS through the gateway)."""
