"""The channel between a node and its API process (docs/node.md "The API process"): the node
answers reads of committed heights from store snapshots and admits what the API process checked;
the API process serves HTTPS. `protocol` is the wire form, `server` the node's end, `client` the
API process's end, `snapshots` the node's snapshots by height."""
