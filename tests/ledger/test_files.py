"""Tests of ledger.files: exact modes under any umask, no overwrite, atomic replace, no leftovers.

Failures are injected by monkeypatching os functions (the suite may run as root, where a
read-only directory would not stop a write).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from ledger import files
from ledger.files import replace_file, sync_directory, write_new_file

MODES = (0o600, 0o640, 0o644, 0o400)
UMASKS = (0o000, 0o077, 0o022)


@contextmanager
def _umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _fail(*args: object, **kwargs: object) -> None:
    raise OSError(errno.EIO, "injected I/O error")


@pytest.mark.parametrize("umask", UMASKS)
@pytest.mark.parametrize("mode", MODES)
def test_write_new_file_sets_exact_mode_under_any_umask(tmp_path, mode, umask):
    path = tmp_path / "f"
    with _umask(umask):
        write_new_file(path, b"content", mode)
    assert _mode(path) == mode
    assert path.read_bytes() == b"content"


def test_write_new_file_refuses_to_overwrite(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        write_new_file(path, b"new", 0o600)
    assert path.read_bytes() == b"precious"


def test_write_new_file_refuses_dangling_symlink(tmp_path):
    link = tmp_path / "f"
    link.symlink_to(tmp_path / "target")
    with pytest.raises(FileExistsError):
        write_new_file(link, b"new", 0o600)
    assert not (tmp_path / "target").exists()


def test_write_new_file_into_missing_directory_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_new_file(tmp_path / "missing" / "f", b"x", 0o600)
    assert not (tmp_path / "missing").exists()


def test_write_new_file_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_new_file("f", b"relative", 0o644)
    assert (tmp_path / "f").read_bytes() == b"relative"


def test_write_new_file_writes_everything_despite_short_writes(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(files.os, "write", lambda fd, data: real_write(fd, data[:7]))
    data = bytes(range(256)) * 40
    write_new_file(tmp_path / "f", data, 0o600)
    assert (tmp_path / "f").read_bytes() == data


def test_write_new_file_removes_partial_file_when_fsync_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(files.os, "fsync", _fail)
    with pytest.raises(OSError) as info:
        write_new_file(tmp_path / "f", b"x" * 10_000, 0o600)
    assert info.value.errno == errno.EIO
    assert list(tmp_path.iterdir()) == []


def test_write_new_file_removes_file_when_directory_sync_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "sync_directory", _fail)
    with pytest.raises(OSError) as info:
        write_new_file(tmp_path / "f", b"data", 0o600)
    assert info.value.errno == errno.EIO
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("umask", UMASKS)
@pytest.mark.parametrize("mode", MODES)
def test_replace_file_sets_exact_mode_under_any_umask(tmp_path, mode, umask):
    path = tmp_path / "f"
    path.write_bytes(b"old")
    os.chmod(path, 0o666)
    with _umask(umask):
        replace_file(path, b"new", mode)
    assert _mode(path) == mode
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_replace_file_creates_missing_file_with_default_mode(tmp_path):
    with _umask(0o077):
        replace_file(tmp_path / "f", b"first")
    assert _mode(tmp_path / "f") == 0o644
    assert (tmp_path / "f").read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_replace_file_keeps_old_content_when_rename_fails(tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_bytes(b"old")
    monkeypatch.setattr(files.os, "replace", _fail)
    with pytest.raises(OSError) as info:
        replace_file(path, b"new")
    assert info.value.errno == errno.EIO
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_replace_file_keeps_old_content_when_temporary_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_bytes(b"old")
    monkeypatch.setattr(files.os, "fsync", _fail)
    with pytest.raises(OSError):
        replace_file(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_replace_file_uses_hidden_temporary_in_same_directory(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(source, target):
        seen.append((source, os.fspath(target)))
        real_replace(source, target)

    monkeypatch.setattr(files.os, "replace", spy)
    replace_file(tmp_path / "f", b"one")
    replace_file(tmp_path / "f", b"two")
    (first, target), (second, _) = seen
    assert target == str(tmp_path / "f")
    assert os.path.dirname(first) == str(tmp_path)
    assert os.path.basename(first).startswith(".f.") and first.endswith(".tmp")
    assert first != second
    assert (tmp_path / "f").read_bytes() == b"two"


def test_replace_file_into_missing_directory_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        replace_file(tmp_path / "missing" / "f", b"x")


def test_sync_directory_requires_an_existing_directory(tmp_path):
    sync_directory(tmp_path)
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        sync_directory(tmp_path / "f")
    with pytest.raises(FileNotFoundError):
        sync_directory(tmp_path / "missing")
