"""Fetch and unpack a pinned corpus of public TF/Keras code (the precision corpus or the dense one).

    python benchmarks/precision/fetch.py                         # corpus.json -> prints the directory
    python benchmarks/precision/fetch.py --spec dense.json

Each package of the spec is pinned by name, version, file name and sha256. The file is downloaded with
`pip download --no-deps` (an sdist when the pin is one, so that examples and notebooks come along; a
wheel otherwise) into a cache outside git (default ~/.cache/ckptlint-precision, or
$CKPTLINT_PRECISION_CACHE), its hash is checked, and its .py and .ipynb files are unpacked, one
directory per package, with the sdist's own `pyproject.toml`, `setup.cfg` and `requirements*.txt`
(ckptlint reads them to tell which Keras a project targets). The sdist's top-level `name-version/`
folder is dropped so that paths stay the same across versions. Archive members are read as data and
written under the package directory only (absolute paths, `..` and links are skipped). A spec may also
give `select`, a regular expression: then only code files whose text matches it are unpacked (the dense
corpus keeps checkpoint-heavy files), and `include`, other spec files whose packages it shares.

Like bench.py, this module is also imported by run.py and bench_dense.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
DEFAULT_SPEC = HERE / "corpus.json"
DEFAULT_CACHE = Path(os.environ.get("CKPTLINT_PRECISION_CACHE", Path.home() / ".cache" / "ckptlint-precision"))

# The same folders ckptlint's default excludes skip, so every unpacked file is one ckptlint reads.
EXCLUDED_PARTS = {"build", "dist", "site-packages", "__pycache__", "node_modules", ".git", "venv", ".venv"}
SUFFIXES = (".py", ".ipynb")
# A project's own requirement files, unpacked too: ckptlint reads them to tell which Keras a project
# targets, as it would in a checkout. (Wheels ship none; their pins live in METADATA, which a checkout
# does not have.)
PROJECT_FILES = re.compile(r"(?:^|/)(?:pyproject\.toml|setup\.cfg|requirements[^/]*\.txt)$")
LAYOUT = 2  # bump when what is unpacked changes, so that no corpus unpacked the old way is reused
MAX_MEMBER_BYTES = 20_000_000  # a file bigger than this is data, not code


def log(message: str) -> None:
    print(f"[precision {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    file: str
    sha256: str
    url: str

    @property
    def is_sdist(self) -> bool:
        return self.file.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz"))


@dataclass(frozen=True)
class Spec:
    path: Path
    packages: tuple[Package, ...]
    select: re.Pattern[bytes] | None

    @property
    def stamp(self) -> str:
        """Changes whenever a pin or the selection changes, so a stale unpacked corpus is never reused."""
        pins = [[p.name, p.version, p.sha256] for p in self.packages]
        key = json.dumps([LAYOUT, pins, self.select.pattern.decode() if self.select else None])
        return hashlib.sha256(key.encode()).hexdigest()[:12]


def load_spec(path: Path) -> Spec:
    """A spec file; its `include` names other spec files (beside it) whose packages it adds to its own."""
    data = json.loads(path.read_text())
    included = [p for name in data.get("include", []) for p in load_spec(path.parent / name).packages]
    packages = tuple(included) + tuple(Package(**{k: p[k] for k in ("name", "version", "file", "sha256", "url")})
                                       for p in data["packages"])
    select = data.get("select")
    return Spec(path, packages, re.compile(select.encode()) if select else None)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(package: Package, dist_dir: Path) -> Path:
    """The pinned file, from the cache or from PyPI through pip, hash-checked."""
    target = dist_dir / package.file
    if target.is_file() and sha256_of(target) == package.sha256:
        return target
    dist_dir.mkdir(parents=True, exist_ok=True)
    # --no-binary NAME for this package only: its build requirements may still come as wheels.
    kind = ["--no-binary", package.name] if package.is_sdist else ["--only-binary", ":all:"]
    log(f"downloading {package.file} (pip download --no-deps)")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", *kind, "--quiet",
                    "--dest", str(dist_dir), f"{package.name}=={package.version}"], check=True)
    if not target.is_file():
        raise SystemExit(f"fetch: pip did not produce {package.file}")
    actual = sha256_of(target)
    if actual != package.sha256:
        target.unlink()
        raise SystemExit(f"fetch: {package.file}: sha256 {actual} does not match the pin {package.sha256}")
    return target


def _wanted(name: str) -> bool:
    return name.endswith(SUFFIXES) or PROJECT_FILES.search(name) is not None


def _members(archive: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every regular code or requirement-file member, read as data."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as handle:
            for info in handle.infolist():
                if not info.is_dir() and _wanted(info.filename) and info.file_size <= MAX_MEMBER_BYTES:
                    yield info.filename, handle.read(info)
        return
    with tarfile.open(archive) as handle:
        for member in handle:
            if member.isfile() and _wanted(member.name) and member.size <= MAX_MEMBER_BYTES:
                stream = handle.extractfile(member)
                if stream is not None:
                    yield member.name, stream.read()


def _relative(name: str, strip_top: bool) -> PurePosixPath | None:
    """Where a member goes inside its package directory, or None when it must not be written."""
    path = PurePosixPath(name)
    parts = [p for p in path.parts if p not in ("", ".")]
    if path.is_absolute() or ".." in parts or EXCLUDED_PARTS & set(parts):
        return None
    if strip_top:
        parts = parts[1:]
    return PurePosixPath(*parts) if parts else None


def unpack(archive: Path, package: Package, destination: Path, select: re.Pattern[bytes] | None) -> int:
    """Write the archive's code files (and requirement files) under `destination`; returns how many code
    files were written. `select` filters code files only."""
    written = 0
    for name, data in _members(archive):
        relative = _relative(name, strip_top=package.is_sdist)
        code = name.endswith(SUFFIXES)
        if relative is None or (code and select is not None and not select.search(data)):
            continue
        out = destination.joinpath(*relative.parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        written += code
    return written


def ensure_corpus(spec: Spec, cache: Path = DEFAULT_CACHE) -> Path:
    """The unpacked corpus directory (one sub-directory per package), built once per spec stamp."""
    corpus = cache / f"{spec.path.stem}-{spec.stamp}"
    if (corpus / ".complete").is_file():
        return corpus
    if corpus.exists():
        shutil.rmtree(corpus)
    for package in spec.packages:
        archive = download(package, cache / "dist")
        count = unpack(archive, package, corpus / package.name, spec.select)
        log(f"{package.name} {package.version}: {count} files")
    (corpus / ".complete").write_text("ok\n")
    return corpus


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def corpus_size(corpus: Path) -> tuple[int, int, int]:
    """(files, lines, bytes); a notebook's lines are those of its JSON file."""
    files = lines = size = 0
    for path in corpus_files(corpus):
        data = path.read_bytes()
        files += 1
        lines += data.count(b"\n")
        size += len(data)
    return files, lines, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="corpus.json (default) or dense.json")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="downloads and unpacked corpora")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec if args.spec.is_absolute() or args.spec.exists() else HERE / args.spec)
    corpus = ensure_corpus(spec, args.cache)
    files, lines, size = corpus_size(corpus)
    log(f"{len(spec.packages)} packages, {files:,} files, {lines:,} lines, {size / 1e6:.1f} MB")
    print(corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
