"""Session-scoped artifacts: TensorFlow builds every format once per test run.

Under pytest-xdist the workers share one build (the first worker builds under a file lock, the others
read its manifest), which halves the CPU the suite needs on a small machine.
"""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import inspect_artifacts as _artifacts  # noqa: E402


@pytest.fixture(scope="session")
def art(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Path]:
    pytest.importorskip("tensorflow")
    if not hasattr(request.config, "workerinput"):  # not an xdist worker
        return _artifacts.build(tmp_path_factory.mktemp("artifacts"))
    shared = tmp_path_factory.getbasetemp().parent / "ckptlint-inspect-artifacts"
    shared.mkdir(exist_ok=True)
    manifest = shared / "manifest.json"
    with open(shared / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not manifest.exists():
                built = _artifacts.build(shared / "files")
                manifest.write_text(json.dumps({k: str(v) for k, v in built.items()}))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return {k: Path(v) for k, v in json.loads(manifest.read_text()).items()}
