"""Fuzz campaign for `ckptlint check`: thousands of hostile inputs, counted by what went wrong.

    python benchmarks/fuzz.py --seed 1 --count 5000            # ~5,000 inputs, two runs at a time
    python benchmarks/fuzz.py --seed 7 --count 300 --json out.json

Inputs are generated from a seed (the same seed gives the same inputs): sources mutated from the sample
projects and the rules' examples, deep and long constructs, PEP 263 cookies naming every codec Python
has, undecodable bytes, hostile file names, special files, notebooks, `pyproject.toml` files, corrupted
cache entries, and `--diff` / `--fix` over all of that. Several inputs share one run of the real CLI
(a subprocess, as a user or CI starts it), through the worker pool or in one process.

What is counted, per input:

- traceback: `Traceback (most recent call last)` anywhere in the output;
- crash: the process ended by a signal;
- hang: a run over its time limit, or a file reported as over the per-file budget (`--file-timeout`);
- wrong exit code: anything but 0 (no findings) / 1 (findings) for a lint run, including 2 from an
  internal error; for a configuration, 2 must come with one `ckptlint: error:` line that is not an
  internal error; for a cache, the findings must equal those of a run without the cache.

Inspector artifacts: if tests/fuzz_artifacts.py (the inspector's own generators) is present, its cases
run too (`--artifacts`); see `_artifact_cases`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILE_TIMEOUT = 30.0  # the per-file budget given to ckptlint: a file over it (30 s) is a hang
RUN_TIMEOUT = 150.0  # one run of the CLI over one case (up to 14 files): past it, the run hangs


# ---- seeds ------------------------------------------------------------------------------------------
def seed_sources() -> list[str]:
    """Real inputs to mutate: the sample projects and the rules' VALID/INVALID examples."""
    sources = [p.read_text(encoding="utf-8") for p in sorted((REPO / "sample_projects").rglob("*.py"))]
    sys.path.insert(0, str(REPO))
    try:
        from ckptlint.lint.registry import all_rules

        for rule in all_rules():
            sources.extend(rule.VALID)
            sources.extend(example.code for example in rule.INVALID)
    finally:
        sys.path.remove(str(REPO))
    return [s for s in sources if s.strip()]


TOKENS = [
    "(", ")", "[", "]", "{", "}", ":", ",", ".", "\\\n", "\n", "\r", "\r\n", "\t", " ", "    ", "#", "'", '"',
    "'''", '"""', "f'{", "}'", "rb'", "not ", "lambda: ", " if x else ", "await ", "yield ", "**", "*", "@",
    "->", ":=", "async ", "def ", "class ", "return ", "import ", "from . import ", "\x0c", "\ufeff", "\u00e9",
    "\u202e", "\u2028", "\x1b[2J", "tf.train.Checkpoint(", ".save(", ".restore(", "optimizer=", "model.fit(",
    "keras.optimizers.Adam()", "# ckptlint: disable=", "# noqa", "\\", "0x", "1e309", "...", "elif x:\n    pass\n",
]
CONSTRUCTS = {
    "paren": lambda n: "(" * n + "1" + ")" * n,
    "list": lambda n: "[" * n + "]" * n,
    "not": lambda n: "not " * n + "y",
    "minus": lambda n: "-" * n + "y",
    "plus": lambda n: "+".join(["a"] * n),
    "and": lambda n: " and ".join(["a"] * n),
    "compare": lambda n: " < ".join(["a"] * n),
    "attribute": lambda n: "a" + ".b" * n,
    "call": lambda n: "f" + "()" * n,
    "subscript": lambda n: "f" + "[0]" * n,
    "lambda": lambda n: "lambda: " * n + "1",
    "ternary": lambda n: "a if b else " * n + "c",
    "power": lambda n: "**".join(["a"] * n),
    "strings": lambda n: " ".join(['"a"'] * n),
    "nested calls": lambda n: "f(" * n + ")" * n,
    "dict": lambda n: "{1: " * n + "1" + "}" * n,
    "walrus": lambda n: "(y := " * n + "1" + ")" * n,
    "tuple": lambda n: ", ".join(["a"] * n),
}
STATEMENTS = {
    "checkpoints": lambda n: "".join(f"c{i} = tf.train.Checkpoint(model=m{i})\nc{i}.save('d')\n" for i in range(n)),
    "restores": lambda n: "".join(f"c.restore(p{i})\n" for i in range(n)),
    "optimizers": lambda n: "".join(f"o{i} = tf.keras.optimizers.Adam()\n" for i in range(n)),
    "functions": lambda n: "".join(f"def f{i}(ckpt):\n    ckpt.save('d')\n    f{i + 1}(ckpt)\n" for i in range(n)),
    "aliases": lambda n: "a0 = tf.train.Checkpoint(model=m)\n" + "".join(f"a{i + 1} = a{i}\n" for i in range(n)) + f"a{n}.save('x')\n",
    "elif": lambda n: "if x:\n    pass\n" + "elif x:\n    pass\n" * n,
    "indent": lambda n: "".join("    " * i + "if x:\n" for i in range(min(n, 120))) + "    " * min(n, 120) + "pass\n",
    "decorators": lambda n: "@d\n" * n + "def f():\n    pass\n",
    "class attributes": lambda n: "class T:\n    def __init__(self):\n" + "".join(f"        self.o{i} = tf.keras.optimizers.Adam()\n" for i in range(n)),
    "lines": lambda n: "x = 1\n" * n,
}
PREFIX = "import tensorflow as tf\nopt_a = tf.keras.optimizers.Adam()\nopt_b = tf.keras.optimizers.Adam()\nckpt = tf.train.Checkpoint(model=m)\n"


def mutate(rng: random.Random, text: str, seeds: list[str]) -> bytes:
    """A few random edits of `text`: tokens inserted, spans deleted or repeated, another seed spliced
    in, bytes flipped."""
    data = text
    for _ in range(rng.randint(1, 8)):
        if not data:
            data = rng.choice(seeds)
        at = rng.randrange(len(data) + 1)
        choice = rng.random()
        if choice < 0.45:
            data = data[:at] + rng.choice(TOKENS) * rng.choice([1, 1, 1, 2, 5, 50]) + data[at:]
        elif choice < 0.65:
            data = data[:at] + data[at + rng.randint(1, 80):]
        elif choice < 0.8:
            end = min(len(data), at + rng.randint(1, 200))
            data = data[:end] + data[at:end] * rng.randint(1, 20) + data[end:]
        else:
            other = rng.choice(seeds)
            start = rng.randrange(len(other) + 1)
            data = data[:at] + other[start:start + rng.randint(1, 400)] + data[at:]
    raw = data.encode("utf-8", "surrogatepass")
    if rng.random() < 0.15:
        raw = bytearray(raw)
        for _ in range(rng.randint(1, 5)):
            if raw:
                raw[rng.randrange(len(raw))] = rng.randrange(256)
        raw = bytes(raw)
    return raw


def codec_names() -> list[str]:
    import encodings.aliases

    names = set(encodings.aliases.aliases.values()) | set(encodings.aliases.aliases)
    return sorted(names | {"utf-8", "utf-7", "punycode", "undefined", "idna", "unicode_escape", "raw_unicode_escape",
                           "rot13", "hex", "base64", "zlib", "uu", "no-such-codec", "mbcs", "utf-16", "utf-32"})


# ---- cases ------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One run of the CLI. `files`: relative name -> bytes, or a marker for a special file."""

    kind: str
    files: dict[str, object]
    args: list[str]
    inputs: int  # how many inputs the case stands for
    expect: str = "lint"  # lint | config | cache | diff | fix
    note: str = ""


FIFO, DANGLING, LOOP, DIRECTORY, DEV_ZERO = "<fifo>", "<dangling link>", "<link loop>", "<directory>", "<link to /dev/zero>"


def _common_args(rng: random.Random) -> list[str]:
    args = ["--select", "ALL"] if rng.random() < 0.7 else []
    args += ["--jobs", rng.choice(["1", "2"])]
    return args


def case_mutated(rng: random.Random, seeds: list[str]) -> Case:
    files = {f"m{i}.py": mutate(rng, rng.choice(seeds), seeds) for i in range(rng.randint(8, 14))}
    return Case("mutated sources", files, _common_args(rng), len(files))


def case_deep(rng: random.Random, seeds: list[str], quick: bool = False) -> Case:
    """Deep nesting and long chains (any size: CPython's parser screens them), and long runs of
    statements (up to 10,000 lines; `quick`: up to 500, for the test suite)."""
    files = {}
    for i in range(rng.randint(8, 12)):
        if rng.random() < 0.6:
            name = rng.choice(sorted(CONSTRUCTS))
            n = rng.choice([10, 50, 150, 199, 201, 300, 1000, 3000, 10000, 30000])
            body = PREFIX + "x = " + CONSTRUCTS[name](n) + "\n"
        else:
            name = rng.choice(sorted(STATEMENTS))
            n = rng.choice([10, 100, 500] if quick else [10, 100, 500, 2000, 5000])
            body = PREFIX + STATEMENTS[name](n)
        files[f"deep{i}_{name.replace(' ', '_')}_{n}.py"] = body.encode()
    return Case("deep and long sources", files, _common_args(rng), len(files))


def case_encodings(rng: random.Random, seeds: list[str]) -> Case:
    names = codec_names()
    files = {}
    for i in range(rng.randint(8, 12)):
        codec = rng.choice(names)
        body = rng.choice(seeds).encode("utf-8")
        style = rng.random()
        if style < 0.5:
            data = f"# -*- coding: {codec} -*-\n".encode() + body
        elif style < 0.7:
            data = b"\xef\xbb\xbf" + f"# coding: {codec}\n".encode() + body
        elif style < 0.85:
            data = f"# coding={codec}\n".encode() + bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))) + body
        else:
            data = f"# coding: {codec}\nx = '\\udc{rng.randrange(256):02x}'\n".encode() + body
        files[f"enc{i}.py"] = data
    return Case("encodings", files, _common_args(rng), len(files))


def case_names(rng: random.Random, seeds: list[str]) -> Case:
    pieces = ["\n", "\r", "\x1b[31m", "::error file=x,line=1::forged", "##[error]", "\u202e", " ", ":", "%", ",",
              "\\", "'", '"', "-", "#"]
    files = {}
    for i in range(rng.randint(8, 12)):
        name = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))) + f"{i}.py"
        if rng.random() < 0.3:
            name = os.fsdecode(b"\xff\xfe" + name.encode())
        files[name] = (PREFIX + rng.choice(seeds)).encode()
    fmt = rng.choice(["text", "json", "sarif", "github"])
    return Case("file names", files, [*_common_args(rng), "--format", fmt], len(files), note=fmt)


def case_special(rng: random.Random, seeds: list[str]) -> Case:
    files: dict[str, object] = {f"ok{i}.py": (PREFIX + rng.choice(seeds)).encode() for i in range(6)}
    for i, special in enumerate(rng.sample([FIFO, DANGLING, LOOP, DIRECTORY, DEV_ZERO], k=rng.randint(2, 5))):
        files[f"special{i}.py"] = special
    named = [name for name, value in files.items() if value in (FIFO, DEV_ZERO)]
    return Case("special files", files, [*_common_args(rng), ".", *named], len(files))


def case_notebooks(rng: random.Random, seeds: list[str]) -> Case:
    files = {}
    for i in range(rng.randint(8, 12)):
        cells = []
        for _ in range(rng.randint(0, 30)):
            source: object = rng.choice(seeds)
            if rng.random() < 0.3:
                source = source.splitlines(keepends=True)
            if rng.random() < 0.1:
                source = rng.choice([None, 5, {"a": 1}, ["x", 3], "%%bash\nls", "!ls\n%time x = 1"])
            cells.append({"cell_type": rng.choice(["code", "code", "markdown", "raw", 7]), "metadata": {},
                          "source": source, "outputs": []})
        document: object = {"cells": cells, "metadata": {"kernelspec": {"language": rng.choice(["python", "R", 5])}},
                            "nbformat": 4, "nbformat_minor": 5}
        if rng.random() < 0.2:
            document = rng.choice([[], None, {"cells": 5}, {"cells": [1, 2]}, "text"])
        data = json.dumps(document).encode()
        if rng.random() < 0.2:
            data = mutate(rng, data.decode(), seeds)
        files[f"nb{i}.ipynb"] = data
    return Case("notebooks", files, _common_args(rng), len(files))


CONFIG_VALUES = ['["CKPT1"]', '["ALL"]', '["NOPE"]', "5", "'x'", "[1, 2]", "true", "-1", "1e309", "0",
                 '{"a.py" = ["CKPT3"]}', "2000000", "[[\"CKPT1\"]]", "{}", "99999999999999999999999999"]
CONFIG_KEYS = ["select", "ignore", "extend-select", "exclude", "extend-exclude", "per-file-ignores",
               "max-file-size", "selct", "tool"]


def case_config(rng: random.Random, seeds: list[str]) -> Case:
    lines = []
    style = rng.random()
    if style < 0.6:
        lines.append("[tool.ckptlint]")
        for _ in range(rng.randint(0, 4)):
            lines.append(f"{rng.choice(CONFIG_KEYS)} = {rng.choice(CONFIG_VALUES)}")
    elif style < 0.75:
        lines.append(rng.choice(["tool = 5", "[[tool]]", "tool = 'x'", "[tool]\nckptlint = 5", "[tool.ckptlint.x]\na = 1"]))
    elif style < 0.9:
        depth = rng.choice([10, 100, 1000, 5000])
        lines.append("x = " + rng.choice(["[" * depth + "]" * depth, "{a = " * depth + "1" + "}" * depth]))
    else:
        lines.append(mutate(rng, "[tool.ckptlint]\nselect = ['CKPT1']\nmax-file-size = 100\n", seeds).decode("utf-8", "replace"))
    where = rng.choice(["here", "parent"])
    files = {("../pyproject.toml" if where == "parent" else "pyproject.toml"): ("\n".join(lines) + "\n").encode(),
             "bad.py": (PREFIX + rng.choice(seeds)).encode()}
    return Case("configuration", files, _common_args(rng), 1, expect="config")


def case_cache(rng: random.Random, seeds: list[str]) -> Case:
    files = {f"c{i}.py": (PREFIX + rng.choice(seeds)).encode() for i in range(rng.randint(8, 12))}
    return Case("cache corruption", files, _common_args(rng), len(files), expect="cache")


def case_fix(rng: random.Random, seeds: list[str]) -> Case:
    files = {f"f{i}.py": (PREFIX + mutate(rng, rng.choice(seeds), seeds).decode("utf-8", "replace")).encode()
             for i in range(rng.randint(6, 10))}
    mode = rng.choice(["diff", "fix"])
    args = [*_common_args(rng), f"--{mode}"] + (["--unsafe-fixes"] if rng.random() < 0.5 else [])
    return Case(f"--{mode}", files, args, len(files), expect=mode)


GENERATORS = [(case_mutated, 4), (case_deep, 2), (case_encodings, 1), (case_names, 1), (case_special, 1),
              (case_notebooks, 1), (case_config, 2), (case_cache, 1), (case_fix, 2)]


def generate(seed: int, count: int, seeds: list[str], quick: bool = False) -> list[Case]:
    """Cases standing for at least `count` inputs, the same ones for the same seed (`quick`: small
    enough for the test suite)."""
    from functools import partial

    rng = random.Random(seed)
    weighted = [partial(generator, quick=True) if quick and generator is case_deep else generator
                for generator, weight in GENERATORS for _ in range(weight)]
    cases: list[Case] = []
    total = 0
    while total < count:
        case = rng.choice(weighted)(rng, seeds)
        case.note = f"{case.note} seed={seed}#{len(cases)}".strip()
        cases.append(case)
        total += case.inputs
    return cases


# ---- running ----------------------------------------------------------------------------------------
@dataclass
class Outcome:
    kind: str
    inputs: int
    problems: list[tuple[str, str]] = field(default_factory=list)  # (category, detail)
    seconds: float = 0.0
    note: str = ""


def _materialize(case: Case, root: Path) -> Path:
    project = root / "project"
    project.mkdir(parents=True)
    for name, value in case.files.items():
        path = project / name
        if value == FIFO:
            os.mkfifo(path)
        elif value == DANGLING:
            os.symlink(project / "missing", path)
        elif value == LOOP:
            os.symlink(path, path)
        elif value == DIRECTORY:
            path.mkdir()
        elif value == DEV_ZERO:
            os.symlink("/dev/zero", path)
        else:
            path.write_bytes(value)  # type: ignore[arg-type]
    return project


def _run(args: list[str], cwd: Path, env: dict) -> tuple[int | None, str, str, float]:
    start = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "ckptlint", "check", *args], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = process.communicate(timeout=RUN_TIMEOUT)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        code = None
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), time.monotonic() - start


def _lint_problems(code: int | None, out: str, err: str, fmt: str = "json") -> list[tuple[str, str]]:
    """What is wrong with one lint run's result (the shared oracle)."""
    problems: list[tuple[str, str]] = []
    if code is None:
        return [("hang", f"over {RUN_TIMEOUT:g} s")]
    if "Traceback (most recent call last)" in out + err:
        problems.append(("traceback", (err or out)[-600:]))
    if code < 0 or code > 128:
        problems.append(("crash", f"exit status {code}"))
        return problems
    if fmt != "json":
        for line in (out + "\n" + err).splitlines():
            if ("longer than" in line or "more than" in line or "did not finish" in line) and "--file-timeout" in line:
                problems.append(("hang", line[:300]))
    if "internal error" in err:
        problems.append(("wrong exit code", f"{code}: " + next(line for line in err.splitlines() if "internal error" in line)[:400]))
        return problems
    if code not in (0, 1):
        problems.append(("wrong exit code", f"{code}: {err[-400:]}"))
        return problems
    if fmt == "json":
        try:
            findings = json.loads(out)
        except ValueError:
            problems.append(("wrong exit code", f"stdout is not JSON: {out[:200]!r}"))
            return problems
        if code != (1 if findings else 0):
            problems.append(("wrong exit code", f"{code} with {len(findings)} findings"))
        for finding in findings:
            if finding.get("code") == "CKPT001" and "--file-timeout" in finding.get("message", ""):
                problems.append(("hang", f"{finding['filename']}: {finding['message']}"))
    return problems


def run_case(case: Case, workdir: Path) -> Outcome:
    root = Path(tempfile.mkdtemp(prefix="case-", dir=workdir))
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(root / "xdg")}
    env.pop("GITHUB_ACTIONS", None)
    if case.kind == "file names" and random.Random(case.note).random() < 0.5:
        env["GITHUB_ACTIONS"] = "true"
    outcome = Outcome(case.kind, case.inputs, note=case.note)
    start = time.monotonic()
    try:
        project = _materialize(case, root)
        base = [*case.args, "--file-timeout", str(FILE_TIMEOUT)]
        if case.expect in ("lint", "config"):
            fmt = case.note.split()[0] if case.kind == "file names" else "json"
            args = [*base, "--no-cache"] + (["--format", "json"] if case.kind != "file names" else []) + (
                ["."] if "." not in case.args else [])
            code, out, err, _ = _run(args, project, env)
            if case.expect == "config" and code == 2:
                lines = err.splitlines()
                if len(lines) != 1 or not lines[0].startswith("ckptlint: error:") or "internal error" in err:
                    outcome.problems.append(("wrong exit code", f"config error output: {err[-400:]}"))
                if "Traceback (most recent call last)" in out + err:
                    outcome.problems.append(("traceback", err[-600:]))
            else:
                outcome.problems += _lint_problems(code, out, err, fmt)
                if fmt != "json" and case.kind == "file names":
                    outcome.problems += _channel_problems(out, err, env.get("GITHUB_ACTIONS") == "true", fmt)
        elif case.expect == "cache":
            outcome.problems += _cache_problems(case, project, env, base, root)
        else:
            code, out, err, _ = _run([*base, "--no-cache", "."], project, env)
            if code is None:
                outcome.problems.append(("hang", f"--{case.expect} over {RUN_TIMEOUT:g} s"))
            elif "Traceback (most recent call last)" in out + err:
                outcome.problems.append(("traceback", err[-600:]))
            elif code < 0 or code > 128:
                outcome.problems.append(("crash", f"exit status {code}"))
            elif code not in (0, 1) or "internal error" in err:
                outcome.problems.append(("wrong exit code", f"{code}: {err[-400:]}"))
            if case.expect == "fix" and not outcome.problems:
                # after --fix, a second check agrees with itself and every file still decodes
                code2, out2, err2, _ = _run([*base, "--no-cache", "--format", "json", "."], project, env)
                outcome.problems += _lint_problems(code2, out2, err2)
    finally:
        outcome.seconds = time.monotonic() - start
        shutil.rmtree(root, ignore_errors=True)
    return outcome


def _channel_problems(out: str, err: str, actions: bool, fmt: str) -> list[tuple[str, str]]:
    import re

    problems = []
    for line in out.splitlines() + err.splitlines():
        if re.search("[\x00-\x08\x0b-\x1f\x7f\u202e\u2028]", line):
            problems.append(("wrong exit code", f"raw control character printed: {line[:200]!r}"))
        if actions and fmt != "github" and (line.lstrip().startswith("::") or "##[" in line):
            problems.append(("wrong exit code", f"a forged workflow command: {line[:200]!r}"))
    return problems[:3]


def _cache_problems(case: Case, project: Path, env: dict, base: list[str], root: Path) -> list[tuple[str, str]]:
    """Fill a cache, corrupt its entries at random, and expect the findings of a run without it."""
    rng = random.Random(case.note)
    cache = root / "cache"
    args = [*base, "--format", "json", "--cache-dir", str(cache), "."]
    reference = _run([*base, "--no-cache", "--format", "json", "."], project, env)
    problems = _lint_problems(reference[0], reference[1], reference[2])
    first = _run(args, project, env)
    problems += _lint_problems(first[0], first[1], first[2])
    entries = sorted(p for p in cache.rglob("*") if p.is_file() and p.name != ".gitignore")
    for entry in rng.sample(entries, k=min(len(entries), rng.randint(1, 6))):
        data = entry.read_bytes()
        how = rng.randrange(8)
        if how == 0:
            entry.write_bytes(data[: rng.randrange(len(data) + 1)])
        elif how == 1:
            flipped = bytearray(data)
            if flipped:
                flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            entry.write_bytes(bytes(flipped))
        elif how == 2:
            entry.write_bytes(rng.choice([b"", b"{}", b"[]", b"null", b"\x80\x04K\x01.", os.urandom(64)]))
        elif how == 3:
            entry.unlink()
            os.mkfifo(entry)
        elif how == 4:
            entry.unlink()
            entry.symlink_to(rng.choice(["/dev/zero", str(entry.parent / "nowhere"), str(entry)]))
        elif how == 5:
            other = rng.choice(entries)
            if other.is_file() and not other.is_symlink():
                entry.write_bytes(other.read_bytes())
        elif how == 6:
            head, _, body = data.partition(b"\n")
            mac, _, body = body.partition(b"\n")
            entry.write_bytes(head + b"\n" + mac + b"\n" + body.replace(b'"findings":[{', b'"findings":[], "x":[{', 1))
        else:
            entry.write_bytes(data + b" " * rng.randint(1, 100))
    second = _run(args, project, env)
    problems += _lint_problems(second[0], second[1], second[2])
    if not problems and (second[0], second[1]) != (reference[0], reference[1]):
        problems.append(("wrong exit code", "the corrupted cache changed the result"))
    return problems


def _artifact_cases():
    """The inspector's artifact generators (tests/fuzz_artifacts.py, written by its own helper), when
    present: `inspect`/`diff` over hostile checkpoint artifacts. None when absent."""
    path = REPO / "tests" / "fuzz_artifacts.py"
    if not path.exists():
        return None
    sys.path.insert(0, str(path.parent))
    import fuzz_artifacts  # noqa: F401  (its own CLI runs its campaign: python benchmarks/fuzz_inspect.py)

    return fuzz_artifacts


# ---- report -----------------------------------------------------------------------------------------
CATEGORIES = ("traceback", "crash", "hang", "wrong exit code")


def summarize(outcomes: list[Outcome]) -> dict:
    counts = {category: 0 for category in CATEGORIES}
    by_kind: dict[str, dict] = {}
    for outcome in outcomes:
        kind = by_kind.setdefault(outcome.kind, {"inputs": 0, "runs": 0, **{c: 0 for c in CATEGORIES}})
        kind["inputs"] += outcome.inputs
        kind["runs"] += 1
        for category in {category for category, _ in outcome.problems}:
            counts[category] += 1
            kind[category] += 1
    return {
        "inputs": sum(o.inputs for o in outcomes),
        "runs": len(outcomes),
        "problems": counts,
        "by_kind": by_kind,
        "slowest_run_seconds": max((o.seconds for o in outcomes), default=0.0),
        "failures": [asdict(o) for o in outcomes if o.problems][:50],
    }


def campaign(seed: int, count: int, workdir: Path, parallel: int = 2, progress: bool = True, quick: bool = False) -> dict:
    seeds = seed_sources()
    cases = generate(seed, count, seeds, quick)
    workdir.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for index, outcome in enumerate(pool.map(lambda case: run_case(case, workdir), cases), start=1):
            outcomes.append(outcome)
            if progress and (outcome.problems or index % 25 == 0):
                done = sum(o.inputs for o in outcomes)
                bad = [f"{c}: {d[:160]!r}" for c, d in outcome.problems]
                print(f"[fuzz] {index}/{len(cases)} runs, {done} inputs" + (f" -- {outcome.kind} {outcome.note}: {bad}" if bad else ""),
                      file=sys.stderr, flush=True)
    return summarize(outcomes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=5000, help="inputs to generate (several share one run)")
    parser.add_argument("--parallel", type=int, default=2, help="runs at a time (each may use two workers)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the cases are written (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ckptlint-fuzz-"))
    start = time.monotonic()
    summary = campaign(args.seed, args.count, workdir, args.parallel)
    summary["seconds"] = round(time.monotonic() - start, 1)
    summary["command"] = f"python benchmarks/fuzz.py --seed {args.seed} --count {args.count}"
    if _artifact_cases() is None:
        summary["artifacts"] = "tests/fuzz_artifacts.py is not in this tree: inspect/diff artifacts not fuzzed here"
    print(json.dumps({k: v for k, v in summary.items() if k != "failures"}, indent=2))
    for failure in summary["failures"][:20]:
        print(f"- {failure['kind']} {failure['note']}: {failure['problems'][:2]}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if not any(summary["problems"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
