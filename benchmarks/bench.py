"""Benchmark ckptlint against Fixit and TorchFix on the same real TensorFlow code.

    python benchmarks/bench.py                  # everything: corpus, ckptlint, Fixit, TorchFix, pre-commit
    python benchmarks/bench.py --skip-others    # ckptlint only (cold, warm, --jobs 1, pre-commit path)

The corpus is the .py files of the packages pinned (file name and sha256) in benchmarks/corpus.json,
downloaded with `pip download --no-deps` into a cache directory outside git (default
~/.cache/ckptlint-bench, or $CKPTLINT_BENCH_CACHE) and unpacked there. Fixit and TorchFix get their own
virtual environments in the same directory (they pin other libcst versions), created on first use.

Every measurement is a separate process, timed from spawn to exit (wall clock, median of --repeat runs);
peak RSS is the largest resident set of that process or of any of its children (os.wait4's ru_maxrss;
for a process pool that is the biggest single worker or the parent, not their sum).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = HERE / "corpus.json"

# Files ckptlint's default excludes would skip are not unpacked, so all three tools see the same files.
_EXCLUDED_PARTS = {"build", "dist", "site-packages", "__pycache__", "node_modules", ".git", "venv", ".venv"}

# TorchFix's CLI only parses files whose text contains "torch" (its own prefilter), so on TF code it
# skips almost everything. This driver runs TorchFix's codemod, exactly as its CLI does, on every file:
# the cost TorchFix's engine would have on this code base.
_TORCHFIX_ALL_FILES = r"""
import sys, io, contextlib
import libcst.codemod as codemod
from torchfix.torchfix import TorchCodemod, TorchCodemodConfig, process_error_code_str
files = codemod.gather_files(sys.argv[1:])
config = TorchCodemodConfig()
config.select = list(process_error_code_str("ALL"))
with contextlib.redirect_stderr(io.StringIO()):
    result = codemod.parallel_exec_transform_with_prettyprint(
        TorchCodemod(codemod.CodemodContext(), config), files, jobs=None, unified_diff=5,
        hide_progress=True, format_code=False, repo_root=None)
print(f"torchfix-all-files: {result.successes} ok, {result.failures} failed, {result.skips} skipped", file=sys.stderr)
"""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---- corpus ----------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(package: dict, dist_dir: Path) -> Path:
    target = dist_dir / package["file"]
    if target.is_file() and _sha256(target) == package["sha256"]:
        return target
    log(f"downloading {package['name']}=={package['version']} (pip download --no-deps)")
    dist_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
         "--dest", str(dist_dir), f"{package['name']}=={package['version']}"],
        check=True,
    )
    if not target.is_file():
        raise SystemExit(f"bench: pip did not produce {package['file']}")
    actual = _sha256(target)
    if actual != package["sha256"]:
        target.unlink()
        raise SystemExit(f"bench: {package['file']}: sha256 {actual} does not match the pin {package['sha256']}")
    return target


def ensure_corpus(cache: Path, spec: dict) -> Path:
    stamp = hashlib.sha256(json.dumps(spec["packages"], sort_keys=True).encode()).hexdigest()[:12]
    corpus = cache / f"corpus-{stamp}"
    if (corpus / ".complete").is_file():
        return corpus
    if corpus.exists():
        shutil.rmtree(corpus)
    for package in spec["packages"]:
        wheel = _fetch(package, cache / "dist")
        destination = corpus / package["name"]
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.infolist():
                parts = Path(member.filename).parts
                if not member.filename.endswith(".py") or _EXCLUDED_PARTS & set(parts):
                    continue
                out = destination.joinpath(*parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(archive.read(member))
    (corpus / ".complete").write_text("ok\n")
    log(f"corpus unpacked in {corpus}")
    return corpus


def sample_corpus(corpus: Path, every: int) -> Path:
    """Every `every`-th file of the corpus (sorted by path), same relative paths: the side-by-side set."""
    if every <= 1:
        return corpus
    sample = corpus.with_name(f"{corpus.name}-every{every}")
    if (sample / ".complete").is_file():
        return sample
    shutil.rmtree(sample, ignore_errors=True)
    for path in sorted(corpus.rglob("*.py"))[::every]:
        out = sample / path.relative_to(corpus)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)
    (sample / ".complete").write_text("ok\n")
    return sample


def corpus_size(corpus: Path) -> tuple[int, int, int]:
    files = lines = size = 0
    for path in corpus.rglob("*.py"):
        data = path.read_bytes()
        files += 1
        lines += data.count(b"\n")
        size += len(data)
    return files, lines, size


# ---- tools -----------------------------------------------------------------------------------
def ensure_venv(cache: Path, tool: str, requirement: str) -> Path:
    venv = cache / f"venv-{tool}"
    exe = venv / "bin" / tool
    if exe.exists():
        return venv
    log(f"creating {venv} and installing {requirement} (its own venv: it pins its own libcst)")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", requirement], check=True)
    if not exe.exists():
        raise SystemExit(f"bench: installing {requirement} did not provide {exe}")
    return venv


def ckptlint_command() -> list[str]:
    script = Path(sys.executable).parent / "ckptlint"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ckptlint"]


@dataclass
class Run:
    wall: float
    max_rss_kb: int
    returncode: int


# Like a normal install: bytecode is cached (outside the work tree), even where the environment
# sets PYTHONDONTWRITEBYTECODE (it would recompile ckptlint's modules on every run).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_once(command: list[str], cwd: Path | None = None, stdout=subprocess.DEVNULL) -> Run:
    """Spawn `command`, wait for it, and return its wall time and peak RSS (itself or any child)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=stdout, stderr=subprocess.DEVNULL, env=ENV)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, usage.ru_maxrss, process.returncode)


@dataclass
class Result:
    name: str
    command: str
    walls: list[float]
    max_rss_kb: int
    files: int
    lines: int
    returncode: int
    load: tuple[float, float, float]
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)


def measure(name: str, command: list[str], repeat: int, files: int, lines: int, before=None, note: str = "",
            cwd: Path | None = None) -> Result:
    walls: list[float] = []
    rss = 0
    code = 0
    load = os.getloadavg()
    for index in range(repeat):
        if before is not None:
            before()
        run = run_once(command, cwd=cwd)
        walls.append(run.wall)
        rss = max(rss, run.max_rss_kb)
        code = run.returncode
        log(f"{name} #{index + 1}: {run.wall:.2f} s, peak RSS {run.max_rss_kb / 1024:.0f} MiB, exit {run.returncode}")
    return Result(name, " ".join(command), walls, rss, files, lines, code, load, note)


def _count_findings(report: Path) -> int | None:
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return None
    findings = data.get("findings", data) if isinstance(data, dict) else data
    return len(findings) if isinstance(findings, list) else None


def pick_precommit_file(corpus: Path) -> Path:
    """A real training module that passes the prefilter: the largest file using both a
    tf.train.Checkpoint and apply_gradients (so the parse, model and every rule run)."""
    best: tuple[int, str] | None = None
    for path in corpus.rglob("*.py"):
        text = path.read_text("utf-8", "replace")
        if "Checkpoint(" in text and "apply_gradients" in text and "_test" not in path.name:
            candidate = (len(text), str(path))
            best = max(best, candidate) if best else candidate
    if best is None:  # a small corpus: the largest file then
        best = max((path.stat().st_size, str(path)) for path in corpus.rglob("*.py"))
    return Path(best[1])


def pick_unrelated_file(corpus: Path) -> Path:
    """The common pre-commit case: a median-sized module that mentions no checkpoint, saving, loading,
    optimizer or weights at all (the prefilter drops it, so nothing is parsed)."""
    words = ("checkpoint", "save", "load", "optimizer", "weights", "backup")
    sizes = sorted(
        (path.stat().st_size, str(path)) for path in corpus.rglob("*.py")
        if not any(word in path.read_text("utf-8", "replace").lower() for word in words)
    )
    return Path(sizes[len(sizes) // 2][1])


# ---- report ----------------------------------------------------------------------------------
def _row(result: Result, baseline: float | None) -> str:
    rate = result.files / result.median if result.files and result.median else 0
    ratio = f"{result.median / baseline:.1f}×" if baseline and result.files else ""
    runs = "/".join(f"{w:.2f}" for w in result.walls)
    return (f"| {result.name} | {result.files:,} | {result.lines:,} | **{result.median:.2f} s** ({runs}) | "
            f"{result.max_rss_kb / 1024:.0f} MiB | {rate:,.0f} | {ratio} |")


def _table(title: str, results: list[Result], baseline_name: str) -> list[str]:
    baseline = next((r.median for r in results if r.name == baseline_name), None)
    lines = [
        f"**{title}**",
        "",
        f"| run | files | lines | wall, median (runs) | peak RSS | files/s | time ÷ {baseline_name} |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    return lines + [_row(r, baseline) for r in results] + [""]


def markdown(groups: list[tuple[str, list[Result], str]], meta: dict) -> str:
    lines = [
        f"Corpus: {meta['files']:,} files, {meta['lines']:,} lines ({meta['bytes'] / 1e6:.1f} MB) from "
        f"{', '.join(meta['packages'])}. Machine: {meta['machine']}.",
        "",
    ]
    for title, results, baseline in groups:
        if results:
            lines += _table(title, results, baseline)
    for _title, results, _baseline in groups:
        for r in results:
            load = ", ".join(f"{x:.2f}" for x in r.load)
            extra = "".join(f"; {k}: {v}" for k, v in r.extra.items())
            lines.append(f"- {r.name}: `{r.command}` (load average before: {load}){' — ' + r.note if r.note else ''}{extra}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("CKPTLINT_BENCH_CACHE", Path.home() / ".cache" / "ckptlint-bench")),
                        help="where wheels, the unpacked corpus and the tools' venvs live")
    parser.add_argument("--repeat", type=int, default=3, help="runs per ckptlint measurement (median reported)")
    parser.add_argument("--jobs1-repeat", type=int, default=None, help="runs of the --jobs 1 cold measurement (default: --repeat)")
    parser.add_argument("--others-repeat", type=int, default=1,
                        help="runs per Fixit/TorchFix measurement (each takes minutes; default 1)")
    parser.add_argument("--sample-every", type=int, default=10,
                        help="the side-by-side comparison uses every N-th file of the corpus (1: all of it; "
                             "Fixit needs about an hour for the whole corpus on 2 cores)")
    parser.add_argument("--precommit-repeat", type=int, default=10)
    parser.add_argument("--skip-others", action="store_true", help="measure ckptlint only")
    parser.add_argument("--skip-torchfix-all", action="store_true", help="skip TorchFix's engine on every file")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args(argv)

    spec = json.loads(SPEC.read_text())
    args.cache.mkdir(parents=True, exist_ok=True)
    ENV["PYTHONPYCACHEPREFIX"] = str(args.cache / "pycache")
    corpus = ensure_corpus(args.cache, spec)
    files, lines, size = corpus_size(corpus)
    log(f"corpus: {files:,} files, {lines:,} lines, {size / 1e6:.1f} MB")
    meta = {
        "files": files, "lines": lines, "bytes": size,
        "packages": [f"{p['name']} {p['version']}" for p in spec["packages"]],
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
                   f"load average at start {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
    }
    ckptlint = ckptlint_command()
    full: list[Result] = []
    side: list[Result] = []
    single: list[Result] = []
    scratch = Path(tempfile.mkdtemp(prefix="ckptlint-bench-"))
    cache_dir = scratch / "cache"
    report = scratch / "report.json"

    def clear_cache() -> None:
        shutil.rmtree(cache_dir, ignore_errors=True)

    def check(target: Path) -> list[str]:
        # Every rule enabled (--select ALL), findings to a JSON file (counted once, not printed).
        return [*ckptlint, "check", str(target), "--select", "ALL", "--exit-zero", "--format", "json",
                "-o", str(report), "--cache-dir", str(cache_dir)]

    one = pick_precommit_file(corpus)
    run_once([*ckptlint, "check", str(one), "--no-cache", "--exit-zero"])  # compiles ckptlint's bytecode once
    try:
        full.append(measure("ckptlint cold", check(corpus), args.repeat, files, lines, before=clear_cache,
                            note="default --jobs (one per core), empty cache"))
        full[-1].extra["findings"] = _count_findings(report)
        full.append(measure("ckptlint warm", check(corpus), args.repeat, files, lines,
                            note="the cache the cold run left"))
        full[-1].extra["findings"] = _count_findings(report)
        full.append(measure("ckptlint cold --jobs 1", [*check(corpus), "--jobs", "1"], args.jobs1_repeat or args.repeat,
                            files, lines, before=clear_cache, note="one process"))

        if not args.skip_others:
            sample = sample_corpus(corpus, args.sample_every)
            s_files, s_lines, _ = corpus_size(sample)
            log(f"side by side on {sample}: {s_files:,} files, {s_lines:,} lines")
            fixit = ensure_venv(args.cache, "fixit", spec["tools"]["fixit"]["requirement"])
            torchfix = ensure_venv(args.cache, "torchfix", spec["tools"]["torchfix"]["requirement"])
            side.append(measure("ckptlint cold", check(sample), args.repeat, s_files, s_lines, before=clear_cache,
                                note="same files as Fixit and TorchFix"))
            side.append(measure("Fixit 2.2.1", [str(fixit / "bin" / "fixit"), "lint", str(sample)],
                                args.others_repeat, s_files, s_lines, cwd=sample,
                                note="`fixit lint`: its default rules (fixit.rules), its own process pool"))
            side.append(measure("TorchFix 0.7.0 CLI", [str(torchfix / "bin" / "torchfix"), "--select", "ALL", str(sample)],
                                args.others_repeat, s_files, s_lines, cwd=sample,
                                note="parses only files containing the word `torch` (its own prefilter)"))
            if not args.skip_torchfix_all:
                driver = scratch / "torchfix_all_files.py"
                driver.write_text(_TORCHFIX_ALL_FILES)
                side.append(measure("TorchFix 0.7.0, every file", [str(torchfix / "bin" / "python"), str(driver), str(sample)],
                                    args.others_repeat, s_files, s_lines, cwd=sample,
                                    note="TorchFix's codemod with --select ALL on every file, as its CLI "
                                         "runs it but without the `torch` text filter"))

        one_lines = one.read_bytes().count(b"\n")
        log(f"pre-commit file: {one} ({one_lines} lines)")
        single.append(measure("check one file", [*ckptlint, "check", str(one), "--select", "ALL", "--no-cache", "--exit-zero"],
                              args.precommit_repeat, 1, one_lines,
                              note=f"`{one.relative_to(corpus)}`, no cache: process start to exit"))
        other = pick_unrelated_file(corpus)
        other_lines = other.read_bytes().count(b"\n")
        single.append(measure("check one unrelated file", [*ckptlint, "check", str(other), "--select", "ALL", "--no-cache",
                                                           "--exit-zero"],
                              args.precommit_repeat, 1, other_lines,
                              note=f"`{other.relative_to(corpus)}`: no checkpoint code, dropped by the prefilter"))
        single.append(measure("`ckptlint --version`", [*ckptlint, "--version"], args.precommit_repeat, 0, 0,
                              note="process start to exit"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    meta["load_at_end"] = os.getloadavg()
    table = markdown([
        ("Whole corpus, every rule (--select ALL)", full, "ckptlint cold"),
        ("Side by side on the same files", side, "ckptlint cold"),
        ("The pre-commit path", single, "check one file"),
    ], meta)
    table += f"\nLoad average at the end: {', '.join(f'{x:.2f}' for x in meta['load_at_end'])}\n"
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": [
            {**asdict(r), "median": r.median} for r in full + side + single]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
