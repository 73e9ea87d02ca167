"""The performance levers must not change what ckptlint reports. Correctness, not timing:
benchmarks/bench.py measures the speed.

- the text prefilter never drops a file a rule fires on (every sample project, every INVALID example);
- the read-only `walk` calls a visitor exactly as libcst's `node.visit` does;
- the cache returns identical findings, is invalidated when the file, the config, the selected rules or
  a rule's source changes, survives two runs writing it at once, and treats a corrupt entry as a miss;
- lazy imports: `ckptlint --version` does not import libcst; `ckptlint check` never imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst._nodes.base import CSTNode

from ckptlint.lint import engine
from ckptlint.lint.config import ConfigResolver
from ckptlint.lint.engine import Options, lint_text, might_matter
from ckptlint.lint.sources import Source
from ckptlint.model.walk import _NO_CODE_INSIDE, walk
from ckptlint.lint.registry import all_rules
from cli_helpers import REPO, run_ckptlint

RULES = all_rules()
ALL_CODES = tuple(rule.code for rule in RULES)
SAMPLE_FILES = sorted((REPO / "sample_projects").rglob("*.py"))


# ---- the prefilter ---------------------------------------------------------------------------
def _fired_without_prefilter(monkeypatch, text: str) -> set[str]:
    monkeypatch.setattr(engine, "might_matter", lambda _text, _codes: True)
    return {f.code for f in lint_text("sample.py", Source(text), ALL_CODES).findings}


def test_there_are_sample_projects_to_check():
    assert len(SAMPLE_FILES) >= 2


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: str(p.relative_to(REPO / "sample_projects")))
def test_prefilter_keeps_every_sample_project_file_for_every_rule_that_fires_on_it(monkeypatch, path):
    text = path.read_text(encoding="utf-8")
    fired = _fired_without_prefilter(monkeypatch, text) - {"CKPT000", "CKPT001"}
    monkeypatch.undo()
    for code in fired:
        assert might_matter(text, (code,)), f"the prefilter drops {path.name} although {code} fires on it"
    if fired:
        assert might_matter(text, ALL_CODES)


def test_the_sample_projects_exercise_the_prefilter(monkeypatch):
    """The test above is not vacuous: without the prefilter, rules do fire on the buggy twins."""
    fired: set[str] = set()
    for path in SAMPLE_FILES:
        if "buggy" in path.parts:
            fired |= _fired_without_prefilter(monkeypatch, path.read_text(encoding="utf-8"))
    assert len(fired) >= 5, fired


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_prefilter_keeps_every_invalid_example(rule):
    for example in rule.INVALID:
        text = textwrap.dedent(example.code)
        assert might_matter(text, (rule.code,)) and might_matter(text, ALL_CODES)


# ---- the read-only walk ------------------------------------------------------------------------
def _all_node_classes(cls=CSTNode):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_node_classes(sub)


def _tracer_class():
    """A visitor with visit_/leave_ methods for every node type that can hold code."""
    methods = {}
    for node_class in set(_all_node_classes()) - _NO_CODE_INSIDE:
        name = node_class.__name__
        methods[f"visit_{name}"] = lambda self, node, n=name: self.trace.append(("visit", n, id(node)))
        methods[f"leave_{name}"] = lambda self, node, n=name: self.trace.append(("leave", n, id(node)))
    return type("Tracer", (cst.CSTVisitor,), methods)


def _walk_sources():
    for directory in ("ckptlint", "rules", "sample_projects", "tests"):
        for path in sorted((REPO / directory).rglob("*.py")):
            yield path.read_text(encoding="utf-8")
    for rule in RULES:
        yield from rule.VALID
        yield from (example.code for example in rule.INVALID)
    # Nodes whose children libcst visits out of field order, and conditional children.
    yield textwrap.dedent('''
        @deco(a())
        async def f(x: int = g(), *a, y=h(), **k) -> T[i()]:
            v = b() if c() else d()
            w = [e(q) for q in r() if s(q)]
            from m import (n as o, p)
            return f"{x!r:>{w()}}" + lambda z=u(): z
        class C(B(), metaclass=M):
            x: int = 1
            async def g(self):
                async with a() as (b, c), d():
                    async for e in f():
                        await g[h():i(), ...]
                try:
                    pass
                except* E() as exc:
                    raise X() from exc
                else:
                    del j, k[l()]
                finally:
                    global m
        match p():
            case {"a": A(b=c), **rest} if d():
                pass
            case [1, *others] | (2 as two):
                pass
    ''')


def test_walk_dispatches_exactly_like_libcst_visit():
    tracer = _tracer_class()
    checked = 0
    for text in _walk_sources():
        try:
            module = cst.parse_module(textwrap.dedent(text))
        except cst.ParserSyntaxError:
            continue
        expected, actual = tracer(), tracer()
        expected.trace, actual.trace = [], []
        module.visit(expected)
        walk(module, actual)
        assert actual.trace == expected.trace
        checked += 1
    assert checked > 50


def test_walk_honours_visit_returning_false():
    class Outer(cst.CSTVisitor):
        def __init__(self):
            self.calls = []

        def visit_FunctionDef(self, node):
            return False

        def visit_Call(self, node):
            self.calls.append(cst.Module([]).code_for_node(node.func))

    module = cst.parse_module("a()\ndef f():\n    b()\nc()\n")
    expected, actual = Outer(), Outer()
    module.visit(expected)
    walk(module, actual)
    assert actual.calls == expected.calls == ["a", "c"]


# ---- the cache ---------------------------------------------------------------------------------
BAD = """\
import tensorflow as tf
opt_a = tf.keras.optimizers.Adam()
opt_b = tf.keras.optimizers.Adam()
slots = {o.name: o for o in (opt_a, opt_b)}
"""
THREE = BAD + "opt_c = tf.keras.optimizers.SGD()\n"


def _check(cwd: Path, *args: str) -> tuple[int, list]:
    result = run_ckptlint("check", "--format", "json", "--cache-dir", str(cwd / "cache"), *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


def _entries(cache_dir: Path) -> list[Path]:
    return [p for p in cache_dir.rglob("*") if p.is_file() and p.name != ".gitignore"]


def test_warm_run_returns_identical_findings_from_the_cache(tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text(BAD)
    (tmp_path / "b.py").write_text(THREE)
    (tmp_path / "clean.py").write_text("x = 1\n")
    options = Options(jobs=1, cache_dir=tmp_path / "cache")
    monkeypatch.chdir(tmp_path)
    cold = engine.run(["."], ConfigResolver(), options)
    assert len(_entries(tmp_path / "cache")) == 3 + 1  # the files, and the project pass (CKPT203)

    def no_linting(*_args, **_kwargs):
        raise AssertionError("a warm run linted a file instead of reading the cache")

    monkeypatch.setattr(engine, "lint_text", no_linting)
    warm = engine.run(["."], ConfigResolver(), options)
    assert warm.findings == cold.findings and len(cold.findings) == 5
    assert warm.files_checked == cold.files_checked == 3


def test_cache_is_invalidated_by_the_file_the_config_and_the_selection(tmp_path):
    path = tmp_path / "a.py"
    path.write_text(BAD)
    code, findings = _check(tmp_path, "a.py")
    assert code == 1 and len(findings) == 2
    assert _check(tmp_path, "a.py")[1] == findings  # warm

    path.write_text(THREE)  # the file changes
    assert len(_check(tmp_path, "a.py")[1]) == 3

    assert _check(tmp_path, "a.py", "--ignore", "CKPT301") == (0, [])  # the selected rules change
    assert len(_check(tmp_path, "a.py")[1]) == 3

    (tmp_path / "pyproject.toml").write_text('[tool.ckptlint]\nignore = ["CKPT3"]\n')  # the config changes
    assert _check(tmp_path, "a.py") == (0, [])
    (tmp_path / "pyproject.toml").write_text('[tool.ckptlint]\nselect = ["ALL"]\n')
    assert len(_check(tmp_path, "a.py")[1]) == 3


def _copy_of_ckptlint(destination: Path) -> Path:
    """ckptlint's sources, importable from `destination` (rules/ installed as ckptlint.rules)."""
    import ckptlint
    import ckptlint.rules

    ignore = shutil.ignore_patterns("__pycache__", "harness", "inspect")
    shutil.copytree(Path(ckptlint.__file__).parent, destination / "ckptlint", ignore=ignore)
    shutil.rmtree(destination / "ckptlint" / "rules", ignore_errors=True)
    shutil.copytree(Path(ckptlint.rules.__file__).parent, destination / "ckptlint" / "rules", ignore=ignore)
    return destination


def test_cache_is_invalidated_when_a_rule_source_changes(tmp_path):
    code_dir = _copy_of_ckptlint(tmp_path / "code")
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.py").write_text(BAD)
    env = {"PYTHONPATH": str(code_dir)}
    command = ("check", "--format", "json", "--cache-dir", str(project / "cache"), "a.py")

    def messages():
        result = run_ckptlint(*command, cwd=project, env=env)
        assert result.returncode == 1, result.stderr
        return [f["message"] for f in json.loads(result.stdout)]

    before = messages()
    assert before and all("optimizers are constructed" in m for m in before)
    assert messages() == before  # warm
    rule = code_dir / "ckptlint" / "rules" / "unnamed_multiple_optimizers.py"
    rule.write_text(rule.read_text().replace("optimizers are constructed in", "optimizers (edited) are built in"))
    after = messages()
    assert after and all("(edited)" in m for m in after), "a stale cache entry survived a rule edit"


def test_corrupt_cache_entries_are_misses(tmp_path):
    (tmp_path / "a.py").write_text(BAD)
    (tmp_path / "b.py").write_text(THREE)
    expected = _check(tmp_path, ".")
    entries = _entries(tmp_path / "cache")
    assert len(entries) == 2 + 1  # the files, and the project pass (CKPT203)
    entries[0].write_bytes(b"")  # truncated by a crash
    entries[1].write_bytes(b"\x80\x05not a pickle at all")
    assert _check(tmp_path, ".") == expected
    assert _check(tmp_path, ".") == expected  # rewritten, and readable again


def test_two_runs_at_once_share_a_cache_without_corrupting_it(tmp_path):
    for index in range(24):
        (tmp_path / f"m{index:02}.py").write_text(BAD if index % 2 else THREE)
    command = [sys.executable, "-m", "ckptlint", "check", "--format", "json", "--jobs", "2",
               "--cache-dir", str(tmp_path / "cache"), "."]
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    runs = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (_out, err) in zip(runs, outputs):
        assert run.returncode == 1, err
    first, second = (json.loads(out) for out, _err in outputs)
    assert first == second and len(first) == 12 * 2 + 12 * 3
    assert not [p for p in (tmp_path / "cache").rglob(".tmp-*")], "a temporary file was left behind"
    assert len(_entries(tmp_path / "cache")) == 24 + 1  # the files, and the one project pass both runs share
    assert _check(tmp_path, ".")[1] == first  # and the entries they left are whole


# ---- lazy imports ------------------------------------------------------------------------------
def _imported(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `python -m ckptlint ARGS` with -X importtime and return the top-level packages it imported
    (in the main process and in any worker process)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", "NO_COLOR": "1"}
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "ckptlint", *args], cwd=cwd,
                            capture_output=True, text=True, env=env, timeout=300)
    modules = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and not name.startswith("package"):
                modules.add(name.split(".")[0])
    assert modules, "no -X importtime output was read"
    return result, modules


def test_version_does_not_import_libcst(tmp_path):
    result, modules = _imported(["--version"], tmp_path)
    assert result.returncode == 0 and "ckptlint" in result.stdout
    assert "ckptlint" in modules
    assert "libcst" not in modules


def test_check_never_imports_tensorflow_or_keras(tmp_path):
    # Every rule on every sample project, through the process pool: the whole linter path.
    result, modules = _imported(["check", "--select", "ALL", "--no-cache", "--jobs", "2", "--exit-zero",
                                 str(REPO / "sample_projects")], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "libcst" in modules  # the check did run
    assert not modules & {"tensorflow", "keras", "tf_keras", "tensorboard", "h5py"}, sorted(modules)


def test_subtree_and_ancestors_agree_with_libcst_visit():
    """`subtree` meets nodes in `node.visit`'s order; `ancestors` and the parent index find the same
    path to every node."""
    from ckptlint.model.walk import ParentIndex, ancestors, subtree

    class _Order(cst.CSTVisitor):
        def __init__(self):
            self.nodes, self.stack, self.paths = [], [], {}

        def on_visit(self, node):
            self.nodes.append(node)
            self.stack.append(node)
            self.paths[id(node)] = list(self.stack)
            return True

        def on_leave(self, node):
            self.stack.pop()

    checked = 0
    for text in list(_walk_sources())[::7]:
        try:
            module = cst.parse_module(textwrap.dedent(text))
        except cst.ParserSyntaxError:
            continue
        order = _Order()
        module.visit(order)
        assert [id(n) for n in subtree(module)] == [id(n) for n in order.nodes]
        index = ParentIndex(module)
        for node in order.nodes[:: max(1, len(order.nodes) // 40)]:
            assert [id(n) for n in ancestors(module, node)] == [id(n) for n in order.paths[id(node)]]
            assert [id(n) for n in index.ancestors(node)] == [id(n) for n in order.paths[id(node)]]
        checked += 1
    assert checked > 5
    assert ancestors(module, cst.Name("elsewhere")) is None
    assert ParentIndex(module).ancestors(cst.Name("elsewhere")) is None


def test_positions_fast_path_gives_libcst_public_positions():
    from libcst.metadata import MetadataWrapper, PositionProvider

    from ckptlint.lint.positions import positions

    for text in list(_walk_sources())[::5]:
        try:
            module = cst.parse_module(textwrap.dedent(text))
        except cst.ParserSyntaxError:
            continue
        public = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        fast = positions(module)
        assert dict(fast) == dict(public)


def test_child_field_order_is_read_like_inspect_getsource_for_every_node_class():
    import inspect

    from ckptlint.model.walk import _method_source

    checked = 0
    for cls in set(_all_node_classes()):
        method = cls.__dict__.get("_visit_and_replace_children")
        if method is None or getattr(method, "__isabstractmethod__", False):
            continue
        assert _method_source(method) == inspect.getsource(method), cls.__name__
        checked += 1
    assert checked > 100


def test_project_pass_is_cached_under_the_keys_of_the_files_it_read(tmp_path, monkeypatch):
    """CKPT203 (train.py writes, resume.py restores with other keys): a warm run reuses the project
    pass's findings without running it; changing one file it read runs it again."""
    twin = REPO / "sample_projects" / "key_mismatch"
    for name in ("train.py", "resume.py"):
        shutil.copy(twin / "buggy" / name, tmp_path / name)
    options = Options(select=["CKPT203"], jobs=1, cache_dir=tmp_path / "cache")
    monkeypatch.chdir(tmp_path)
    cold = engine.run(["."], ConfigResolver(), options)
    assert [f.code for f in cold.findings] == ["CKPT203"]

    runs = []
    real = engine._run_project_rule
    monkeypatch.setattr(engine, "_run_project_rule", lambda *args: runs.append(args[0]) or real(*args))
    warm = engine.run(["."], ConfigResolver(), options)
    assert warm.findings == cold.findings and runs == []

    shutil.copy(twin / "fixed" / "resume.py", tmp_path / "resume.py")
    fixed = engine.run(["."], ConfigResolver(), options)
    assert fixed.findings == [] and runs == ["CKPT203"]


def test_a_warm_run_imports_no_libcst(tmp_path):
    """Cached outcomes and project passes are read without the rules (summaries unpickle from a light
    module, the project pass comes from the cache)."""
    twin = REPO / "sample_projects" / "key_mismatch"
    for name in ("train.py", "resume.py"):
        shutil.copy(twin / "buggy" / name, tmp_path / name)
    # and a finding with a fix: the report's fix hints come from the catalogue, not from the fixes
    shutil.copy(REPO / "sample_projects" / "unchecked_restore" / "buggy" / "train.py", tmp_path / "restore.py")
    probe = (
        "import sys\n"
        "from ckptlint.cli import main\n"
        "try:\n    main(['check', '--format', 'json', '--cache-dir', 'cache', '.'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'libcst'))\n"
    )
    runs = [subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
            for _ in range(2)]
    cold, warm = (json.loads(run.stdout.rsplit("\n", 2)[0]) for run in runs)
    assert cold == warm and sorted(f["code"] for f in cold) == ["CKPT201", "CKPT203"]
    assert runs[0].stdout.strip().endswith("]") and "'libcst'" in runs[0].stdout
    assert runs[1].stdout.strip().endswith("[]"), runs[1].stdout
