"""Tests for ledger.crypto.keyfile: 0600 from creation, no overwrite, permission checks on read."""

from __future__ import annotations

import os
import stat

import pytest

from ledger.crypto import PrivateKey, Suite, read_private_key, write_private_key
from ledger.errors import CryptoError


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return PrivateKey.generate(Suite.P256)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_creates_0600_even_with_permissive_umask(key, tmp_path):
    path = tmp_path / "validator.key"
    old = os.umask(0)
    try:
        write_private_key(path, key)
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
    assert path.read_bytes() == key.to_pem()


def test_write_then_read_round_trip(key, tmp_path):
    path = tmp_path / "k.pem"
    write_private_key(str(path), key)
    loaded = read_private_key(path)
    assert loaded.public_key == key.public_key


def test_write_refuses_to_overwrite(key, tmp_path):
    path = tmp_path / "k.pem"
    path.write_bytes(b"precious")
    with pytest.raises(CryptoError) as info:
        write_private_key(path, key)
    assert info.value.code == "crypto.key_exists"
    assert path.read_bytes() == b"precious"


def test_write_refuses_dangling_symlink(key, tmp_path):
    target = tmp_path / "elsewhere"
    link = tmp_path / "k.pem"
    link.symlink_to(target)
    with pytest.raises(CryptoError) as info:
        write_private_key(link, key)
    assert info.value.code == "crypto.key_exists"
    assert not target.exists()


def test_write_into_missing_directory_is_key_io(key, tmp_path):
    with pytest.raises(CryptoError) as info:
        write_private_key(tmp_path / "missing" / "k.pem", key)
    assert info.value.code == "crypto.key_io"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o620, 0o601])
def test_read_refuses_group_or_other_access(key, tmp_path, mode):
    path = tmp_path / "k.pem"
    write_private_key(path, key)
    os.chmod(path, mode)
    with pytest.raises(CryptoError) as info:
        read_private_key(path)
    assert info.value.code == "crypto.key_permissions"
    assert f"{mode:04o}" in str(info.value) and "chmod 600" in str(info.value)


def test_read_accepts_owner_only_modes(key, tmp_path):
    path = tmp_path / "k.pem"
    write_private_key(path, key)
    os.chmod(path, 0o400)
    assert read_private_key(path).public_key == key.public_key


def test_read_missing_file_and_directory(tmp_path):
    with pytest.raises(CryptoError) as info:
        read_private_key(tmp_path / "absent.pem")
    assert info.value.code == "crypto.key_not_found"
    os.chmod(tmp_path, 0o700)
    with pytest.raises(CryptoError) as info:
        read_private_key(tmp_path)
    assert info.value.code == "crypto.key_io"


def test_read_rejects_oversized_and_malformed_files(tmp_path):
    big = tmp_path / "big.pem"
    fd = os.open(big, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"A" * (64 * 1024 + 1))
    os.close(fd)
    with pytest.raises(CryptoError) as info:
        read_private_key(big)
    assert info.value.code == "crypto.key_io"
    bad = tmp_path / "bad.pem"
    fd = os.open(bad, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"not a key")
    os.close(fd)
    with pytest.raises(CryptoError) as info:
        read_private_key(bad)
    assert info.value.code == "crypto.bad_pem"
