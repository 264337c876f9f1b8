"""Child process for test_wal: appends records to a WAL until it is killed.

argv: DIRECTORY HEIGHT. Appends `payload(i)` for i = 0, 1, ...; every third append is synced,
and after each synced append returns it prints i on stdout, flushed: the records 0..i are then
acknowledged as durable.
"""

import sys

from node.wal import WAL


def payload(index: int) -> bytes:
    """Record `index`: its number, then a size that varies up to ~300 KiB so writes take time."""
    return b'{"i":%d}' % index + bytes([index % 251]) * ((index * 7919) % 300_000)


def main() -> None:
    wal = WAL.open(sys.argv[1], int(sys.argv[2]))
    index = len(wal.records(int(sys.argv[2])))
    while True:
        synced = index % 3 == 2
        wal.append(payload(index), sync=synced)
        if synced:
            print(index, flush=True)
        index += 1


if __name__ == "__main__":
    main()
