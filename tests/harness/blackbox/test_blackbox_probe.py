"""The probe's own safety net, without TensorFlow: a failure of the hook never stops the program."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ckptlint.harness.blackbox.progress import TerminalProgress
from ckptlint.harness.blackbox.trial import INJECT_DIR

pytestmark = pytest.mark.tf
PROBE_DIR = Path(INJECT_DIR).parent / "probe"


def _load_probe_package():
    """The probe as the injected sitecustomize loads it: a private top-level package from its files."""
    name = "_ckptlint_probe_under_test"
    spec = importlib.util.spec_from_file_location(name, PROBE_DIR / "__init__.py",
                                                  submodule_search_locations=[str(PROBE_DIR)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _probe(tmp_path: Path):
    package = _load_probe_package()
    state = sys.modules[package.__name__ + ".state"]
    record = tmp_path / "record"
    record.mkdir()
    return state.Probe(state.ProbeConfig(record_dir=str(record), trial="U", trial_dir=str(tmp_path / "work"))), record


def _events(record: Path) -> list[dict]:
    return [json.loads(line) for f in record.glob("events-*.jsonl") for line in f.read_text().splitlines()]


def test_the_first_failure_switches_the_probe_off_with_one_line(tmp_path, capsys):
    probe, record = _probe(tmp_path)
    calls = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("no such variable\nsecond line")

    assert probe.guard("snapshot", broken) is None
    assert probe.disabled
    assert probe.guard("snapshot", broken) is None and calls == [1]  # never called again
    err = capsys.readouterr().err
    assert err == "ckptlint hook: snapshot failed (RuntimeError: no such variable); the program goes on unhooked\n"
    errors = [e for e in _events(record) if e["e"] == "hook_error"]
    assert errors == [{"e": "hook_error", "t": errors[0]["t"], "where": "snapshot",
                       "message": "RuntimeError: no such variable"}]


def test_guard_passes_every_keyword_through(tmp_path):
    probe, record = _probe(tmp_path)
    probe.guard("update count", probe.emit, "uncounted", where="an XLA-compiled step", n=0)
    assert not probe.disabled
    assert [e["where"] for e in _events(record) if e["e"] == "uncounted"] == ["an XLA-compiled step"]


def test_a_hook_that_cannot_start_leaves_the_program_running(tmp_path):
    env = {**os.environ, "PYTHONPATH": INJECT_DIR, "CKPTLINT_BLACKBOX": str(tmp_path / "missing.json")}
    proc = subprocess.run([sys.executable, "-c", "print('trained')"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "trained\n"
    assert proc.stderr.startswith("ckptlint hook: could not start (FileNotFoundError")
    assert proc.stderr.count("\n") == 1


def test_without_the_variable_the_hook_does_nothing():
    env = {**os.environ, "PYTHONPATH": INJECT_DIR}
    env.pop("CKPTLINT_BLACKBOX", None)
    code = "import sys; print('_ckptlint_probe' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.stdout == "False\n" and proc.stderr == ""


def test_post_import_callback_runs_once_after_a_successful_import(tmp_path, monkeypatch):
    package = _load_probe_package()
    postimport = sys.modules[package.__name__ + ".postimport"]
    (tmp_path / "flaky_mod.py").write_text(
        "import os\nif not os.environ.get('FLAKY_OK'):\n    raise ImportError('half-initialized')\nVALUE = 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    postimport.install_post_import_hooks({"flaky_mod": lambda module: seen.append(module.VALUE)})
    with pytest.raises(ImportError):
        import flaky_mod  # noqa: F401
    assert seen == []
    monkeypatch.setenv("FLAKY_OK", "1")
    import flaky_mod  # noqa: F401,F811

    assert seen == [7]
    sys.modules.pop("flaky_mod", None)
    import flaky_mod  # noqa: F401,F811

    assert seen == [7]  # once per process


class _Terminal:
    def __init__(self, tty: bool) -> None:
        self.tty, self.text = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_progress_only_on_a_terminal_and_never_with_json(monkeypatch):
    import ckptlint.terminal

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(ckptlint.terminal, "PROGRESS_DELAY", 0.0)  # no wait for the first line
    assert TerminalProgress.for_terminal(_Terminal(False)) is None
    assert TerminalProgress.for_terminal(_Terminal(True), machine_format=True) is None
    monkeypatch.setenv("CI", "true")
    assert TerminalProgress.for_terminal(_Terminal(True)) is None
    monkeypatch.delenv("CI")
    terminal = _Terminal(True)
    progress = TerminalProgress.for_terminal(terminal)
    progress("U", 3, 4.2)
    progress("U2", 1, 4.0)
    assert "ckptlint verify: U 3 updates 4s | U2 1 updates 4s" in terminal.text
    progress.finish()
    assert terminal.text.endswith("\r\x1b[2K")
