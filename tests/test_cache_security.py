"""The result cache as an attacker meets it: a linted tree (or a shared cache directory) can plant,
copy, corrupt or redirect entries; none of it may run code, hide a finding, crash, hang or write
outside the tree."""

from __future__ import annotations

import json
import os
import pickle
import stat
import threading
from dataclasses import fields, replace
from pathlib import Path

import pytest

from ckptlint.lint.cache import Cache, load_secret, user_cache_home
from ckptlint.lint.config import Config
from cli_helpers import run_ckptlint

BAD = "import tensorflow as tf\nopt_a = tf.keras.optimizers.Adam()\nopt_b = tf.keras.optimizers.Adam()\nslots = {o.name: o for o in (opt_a, opt_b)}\n"
CLEAN = "import tensorflow as tf\nopt = tf.keras.optimizers.Adam(name='only')\n"


def _check(cwd: Path, *args: str) -> tuple[int, list, str]:
    result = run_ckptlint("check", "--format", "json", *args, cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout) if result.stdout else [], result.stderr


def _entries(directory: Path, kind: str | None = None) -> list[Path]:
    """The cache's entry files (of one kind: "file" or "project")."""
    found = sorted(p for p in directory.rglob("*.json") if p.is_file())
    if kind is None:
        return found
    return [p for p in found if json.loads(p.read_bytes().split(b"\n", 2)[2])["kind"] == kind]


class _Boom:
    """Unpickling this runs os.system: what a planted pickle entry would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_the_default_cache_lives_in_the_user_cache_not_in_the_tree(tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    code, findings, _ = _check(tmp_path, "bad.py")
    assert code == 1 and len(findings) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.py"]
    home = user_cache_home()
    assert home is not None and str(home).startswith(os.environ["XDG_CACHE_HOME"])
    assert _entries(home)


def test_a_planted_pickle_entry_runs_nothing_and_hides_nothing(tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    cache = tmp_path / ".ckptlint_cache"  # an explicit in-tree cache directory, the worst case
    assert _check(tmp_path, "--cache-dir", str(cache), "bad.py")[0] == 1
    marker = tmp_path / "PWNED"
    payload = pickle.dumps(_Boom(marker))
    for entry in _entries(cache):  # the real entry names: computable by anyone who knows the key recipe
        entry.write_bytes(payload)
    # and the old format's layout (two hex digits / the rest, no suffix)
    old = cache / "ab" / ("c" * 62)
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_bytes(payload)
    code, findings, _ = _check(tmp_path, "--cache-dir", str(cache), "bad.py")
    assert not marker.exists(), "a cache entry was unpickled"
    assert code == 1 and [f["code"] for f in findings] == ["CKPT301", "CKPT301"]


def test_a_clean_entry_copied_over_a_buggy_one_is_rejected(tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "clean.py").write_text(CLEAN)
    cache = tmp_path / "cache"
    assert _check(tmp_path, "--cache-dir", str(cache), "clean.py")[0] == 0
    clean_entries = _entries(cache, "file")
    assert _check(tmp_path, "--cache-dir", str(cache), "bad.py")[0] == 1
    bad_entries = [e for e in _entries(cache, "file") if e not in clean_entries]
    assert len(clean_entries) == len(bad_entries) == 1
    bad_entries[0].write_bytes(clean_entries[0].read_bytes())
    code, findings, _ = _check(tmp_path, "--cache-dir", str(cache), "bad.py")
    assert code == 1 and len(findings) == 2


def test_an_edited_entry_fails_authentication(tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    cache = tmp_path / "cache"
    _check(tmp_path, "--cache-dir", str(cache), "bad.py")
    (entry,) = _entries(cache, "file")
    magic, mac, body = entry.read_bytes().split(b"\n", 2)
    document = json.loads(body)
    document["value"]["findings"] = []  # what a forger wants: the same key, no findings
    entry.write_bytes(b"\n".join([magic, mac, json.dumps(document).encode()]))
    code, findings, _ = _check(tmp_path, "--cache-dir", str(cache), "bad.py")
    assert code == 1 and len(findings) == 2


def test_raising_max_file_size_brings_the_finding_back_with_the_cache_on(tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "pyproject.toml").write_text("[tool.ckptlint]\nmax-file-size = 10\n")
    result = run_ckptlint("check", "bad.py", cwd=tmp_path)
    assert result.returncode == 0 and "over max-file-size" in result.stdout
    (tmp_path / "pyproject.toml").write_text("[tool.ckptlint]\nmax-file-size = 100000\n")
    code, findings, _ = _check(tmp_path, "bad.py")
    assert code == 1 and len(findings) == 2


def _variant(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, tuple):
        return (*value, ("x.py", ("CKPT3",))) if value and isinstance(value[0], tuple) else (*value, "CKPT3")
    if value is None:
        return ("CKPT1",)
    if isinstance(value, Path):
        return value / "elsewhere"
    raise AssertionError(f"no variant for {value!r}")


@pytest.mark.parametrize("name", [f.name for f in fields(Config) if f.name != "source"])
def test_every_configuration_key_changes_the_cache_key(tmp_path, name):
    config = Config(root=tmp_path)
    changed = replace(config, **{name: _variant(getattr(config, name))})
    assert changed.fingerprint() != config.fingerprint()
    cache = Cache(tmp_path / "cache", b"k" * 32)
    codes = ("CKPT101",)
    assert cache.context(changed.fingerprint(), codes, changed.max_file_size) != cache.context(
        config.fingerprint(), codes, config.max_file_size)


def test_the_selection_the_path_and_the_content_change_the_key(tmp_path):
    cache = Cache(tmp_path / "cache", b"k" * 32)
    context = cache.context("config", ("CKPT101",), 100)
    assert cache.context("config", ("CKPT101", "CKPT201"), 100) != context
    assert cache.context("config", ("CKPT101",), 101) != context
    key = cache.key(context, "a.py", b"x = 1\n")
    assert cache.key(context, "b.py", b"x = 1\n") != key
    assert cache.key(context, "a.py", b"x = 2\n") != key


def test_dependencies_are_checked_again_on_every_hit(tmp_path):
    cache = Cache(tmp_path / "cache", b"k" * 32)
    dependency = tmp_path / "constants.py"
    dependency.write_text("DIR = 'a'\n")
    from ckptlint.lint.cache import content_digest

    cache.put("ab" * 32, "file", {"value": 1}, [(str(dependency), content_digest(dependency.read_bytes()))])
    assert cache.get("ab" * 32, "file") == {"value": 1}
    dependency.write_text("DIR = 'b'\n")
    assert cache.get("ab" * 32, "file") is None
    dependency.unlink()
    assert cache.get("ab" * 32, "file") is None


def test_an_entry_is_only_valid_under_its_own_key_kind_and_secret(tmp_path):
    cache = Cache(tmp_path / "cache", b"k" * 32)
    cache.put("cd" * 32, "file", [1, 2])
    assert cache.get("cd" * 32, "project") is None
    assert Cache(tmp_path / "cache", b"j" * 32).get("cd" * 32, "file") is None
    (tmp_path / "cache" / "cd" / ("cd" * 31 + ".json")).rename(tmp_path / "cache" / "cd" / ("cd" * 30 + "ee.json"))
    assert cache.get("cd" * 30 + "cdee", "file") is None


def _corruptions(entry: Path, valid: bytes):
    """Ways an entry can be broken: by a crash, a disk, another tool, or on purpose."""
    magic, mac, body = valid.split(b"\n", 2)
    yield "empty", lambda: entry.write_bytes(b"")
    yield "three bytes", lambda: entry.write_bytes(valid[:3])
    yield "truncated body", lambda: entry.write_bytes(valid[:-5])
    yield "no newline", lambda: entry.write_bytes(valid.replace(b"\n", b" "))
    yield "bit flip", lambda: entry.write_bytes(valid[:-10] + bytes([valid[-10] ^ 1]) + valid[-9:])
    yield "binary noise", lambda: entry.write_bytes(os.urandom(4096))
    yield "old pickle", lambda: entry.write_bytes(pickle.dumps({"findings": []}))
    yield "json of another type", lambda: entry.write_bytes(b"\n".join([magic, mac, b"[1, 2, 3]"]))
    yield "json null", lambda: entry.write_bytes(b"null")
    yield "deeply nested json", lambda: entry.write_bytes(b"\n".join([magic, mac, b"[" * 100000 + b"]" * 100000]))
    yield "huge", lambda: entry.write_bytes(valid + b" " * (33 * 1024 * 1024))
    yield "a directory", lambda: (entry.unlink(), entry.mkdir())
    yield "a fifo", lambda: (entry.unlink(), os.mkfifo(entry))
    yield "a link to a fifo", lambda: (entry.unlink(), os.mkfifo(entry.parent / "fifo"), entry.symlink_to(entry.parent / "fifo"))
    yield "a link to /dev/zero", lambda: (entry.unlink(), entry.symlink_to("/dev/zero"))
    yield "a dangling link", lambda: (entry.unlink(), entry.symlink_to(entry.parent / "nowhere"))
    yield "unreadable", lambda: os.chmod(entry, 0)
    yield "wrong magic", lambda: entry.write_bytes(valid.replace(b"ckptlint-cache/2", b"ckptlint-cache/9", 1))


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file() or stat.S_ISFIFO(os.lstat(path).st_mode):
        path.unlink()
    elif path.is_dir():
        path.rmdir()


def test_every_corrupt_entry_is_a_miss_without_crash_or_hang(tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    cache = tmp_path / "cache"
    expected = _check(tmp_path, "--cache-dir", str(cache), "bad.py")[:2]
    (entry,) = _entries(cache, "file")
    valid = entry.read_bytes()
    names = []
    for name, corrupt in _corruptions(entry, valid):
        names.append(name)
        for extra in entry.parent.iterdir():
            if extra != entry:
                _remove(extra)
        if os.path.lexists(entry):
            os.chmod(entry, 0o644) if entry.is_file() and not entry.is_symlink() else None
            _remove(entry)
        entry.write_bytes(valid)
        corrupt()
        done: dict = {}
        thread = threading.Thread(target=lambda: done.update(result=_check(tmp_path, "--cache-dir", str(cache), "bad.py")))
        thread.start()
        thread.join(120)
        assert "result" in done, f"{name}: the run hung"
        assert done["result"][:2] == expected, f"{name}: {done['result'][2]}"
    assert len(names) >= 18


def test_a_symlinked_cache_directory_in_the_tree_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    (project / "bad.py").write_text(BAD)
    (project / ".ckptlint_cache").symlink_to(outside, target_is_directory=True)
    result = run_ckptlint("check", "--cache-dir", ".ckptlint_cache", "bad.py", cwd=project)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "symbolic link inside the linted tree" in result.stderr
    # without the flag the link is never used: the cache is the user's
    assert run_ckptlint("check", "bad.py", cwd=project).returncode == 1
    assert list(outside.iterdir()) == []


def test_a_link_planted_inside_an_in_tree_cache_directory_is_not_written_through(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "bad.py").write_text(BAD)
    cache = tmp_path / "cache"
    _check(tmp_path, "--cache-dir", str(cache), "bad.py")
    (entry,) = _entries(cache, "file")
    shard = entry.parent
    for item in shard.iterdir():
        item.unlink()
    shard.rmdir()
    shard.symlink_to(outside, target_is_directory=True)  # the shard directory itself a link
    (cache / ".gitignore").unlink()
    (cache / ".gitignore").symlink_to(outside / "gitignore")
    code, findings, _ = _check(tmp_path, "--cache-dir", str(cache), "bad.py")
    assert code == 1 and len(findings) == 2
    assert list(outside.iterdir()) == []


def test_the_secret_is_private_and_a_shared_one_is_not_trusted(tmp_path):
    home = tmp_path / "home"
    secret = load_secret(home)
    assert secret is not None and len(secret) == 32
    assert stat.S_IMODE(os.stat(home / "secret").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    assert load_secret(home) == secret
    os.chmod(home / "secret", 0o644)
    assert load_secret(home) is None
    os.chmod(home / "secret", 0o600)
    (home / "secret").unlink()
    (home / "secret").symlink_to(tmp_path / "elsewhere")
    assert load_secret(home) is None


def test_a_run_without_a_usable_secret_lints_without_a_cache(tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    home = tmp_path / "xdg"
    home.mkdir()
    (home / "ckptlint").write_text("not a directory")
    result = run_ckptlint("check", "--format", "json", "bad.py", cwd=tmp_path, env={"XDG_CACHE_HOME": str(home)})
    assert result.returncode == 1 and len(json.loads(result.stdout)) == 2
