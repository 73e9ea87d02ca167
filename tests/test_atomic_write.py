"""The shared atomic write (ckptlint/atomic_write.py): what it replaces, what it writes through, what it
refuses, and that a refusal leaves everything as it was."""

from __future__ import annotations

import os
import stat

import pytest

from ckptlint.atomic_write import WriteRefused, write_atomically
from cli_helpers import run_ckptlint

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file semantics")


def _names(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_replaces_contents_and_keeps_the_mode(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    write_atomically(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert _names(tmp_path) == ["a.txt"]


def test_a_new_file_gets_the_umask_mode_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "new.txt", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.txt"
    real.write_bytes(b"old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_atomically(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_the_link_itself_is_replaced_when_asked(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep")
    link = tmp_path / "entry"
    link.symlink_to(outside)
    write_atomically(link, b"data", follow_symlinks=False)
    assert not link.is_symlink() and link.read_bytes() == b"data"
    assert outside.read_bytes() == b"keep"


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_special_files_are_refused_not_replaced(tmp_path, kind):
    if kind == "fifo":
        target = tmp_path / "out"
        os.mkfifo(target)
    elif kind == "directory":
        target = tmp_path / "out"
        target.mkdir()
    else:
        target = tmp_path / "out"
        target.symlink_to("/dev/null")  # a link to a character device: written through, so refused
    with pytest.raises(WriteRefused, match="not a regular file"):
        write_atomically(target, b"x")
    assert _names(tmp_path) == ["out"]
    if kind == "device":
        assert target.is_symlink() and os.path.realpath(target) == "/dev/null"
    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(target).st_mode)


def test_a_read_only_file_is_refused_even_for_root(tmp_path):
    path = tmp_path / "ro.py"
    path.write_bytes(b"old")
    os.chmod(path, 0o444)
    with pytest.raises(WriteRefused, match="read-only"):
        write_atomically(path, b"new")
    assert path.read_bytes() == b"old" and stat.S_IMODE(path.stat().st_mode) == 0o444


def test_a_hard_linked_file_is_refused_rather_than_split(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"old")
    os.link(path, tmp_path / "b.py")
    with pytest.raises(WriteRefused, match="2 hard links"):
        write_atomically(path, b"new")
    assert path.read_bytes() == (tmp_path / "b.py").read_bytes() == b"old"
    assert os.stat(path).st_ino == os.stat(tmp_path / "b.py").st_ino


def test_expected_contents_guard_a_concurrent_edit(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"edited meanwhile")
    with pytest.raises(WriteRefused, match="changed on disk"):
        write_atomically(path, b"fixed", expected=b"as read")
    assert path.read_bytes() == b"edited meanwhile"
    path.unlink()
    with pytest.raises(WriteRefused, match="removed"):
        write_atomically(path, b"fixed", expected=b"as read")
    assert _names(tmp_path) == []


@pytest.mark.skipif(os.getuid() != 0, reason="needs a file of another owner, which only root can make")
def test_a_file_whose_owner_cannot_be_kept_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "theirs.py"
    path.write_bytes(b"old")
    os.chown(path, 12345, 12345)

    def cannot_chown(*_args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", cannot_chown)  # as an ordinary user would be refused
    with pytest.raises(WriteRefused, match="another user"):
        write_atomically(path, b"new")
    assert path.read_bytes() == b"old" and os.stat(path).st_uid == 12345
    assert _names(tmp_path) == ["theirs.py"]


def test_the_owner_is_kept_when_it_can_be(tmp_path):
    if os.getuid() != 0:
        pytest.skip("only root can make a file of another owner")
    path = tmp_path / "theirs.py"
    path.write_bytes(b"old")
    os.chown(path, 12345, 12345)
    write_atomically(path, b"new")
    assert path.read_bytes() == b"new" and (os.stat(path).st_uid, os.stat(path).st_gid) == (12345, 12345)


def test_output_file_through_a_symlink_keeps_the_link(write, tmp_path):
    write("bad.py", "import tensorflow as tf\na = tf.keras.optimizers.Adam()\nb = tf.keras.optimizers.Adam()\nslots = {o.name: o for o in (a, b)}\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "report.json").symlink_to(tmp_path / "reports" / "latest.json")
    result = run_ckptlint("check", "--no-cache", "--format", "json", "-o", "report.json", "bad.py", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert (tmp_path / "report.json").is_symlink()
    assert '"CKPT301"' in (tmp_path / "reports" / "latest.json").read_text()


def test_output_file_that_is_a_fifo_is_refused_in_one_line(write, tmp_path):
    write("clean.py", "x = 1\n")
    os.mkfifo(tmp_path / "report.txt")
    result = run_ckptlint("check", "--no-cache", "-o", "report.txt", "clean.py", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "ckptlint: error: --output-file report.txt: not a regular file (a FIFO); not replaced"
    assert stat.S_ISFIFO(os.lstat(tmp_path / "report.txt").st_mode)
