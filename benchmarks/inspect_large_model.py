"""Peak memory and time of `ckptlint inspect` / `diff` on a model of a few GB.

    python benchmarks/inspect_large_model.py --out /big/disk/dir              # 0.5 GiB embedding
    python benchmarks/inspect_large_model.py --out DIR --embedding-mib 1024   # checkpoints of ~3 GiB
    PYTHONPATH=/path/to/other/checkout python benchmarks/inspect_large_model.py --out DIR  # another version

The artifacts are built once with TensorFlow in a subprocess (cached under --out): a Keras model whose
embedding holds EMBEDDING_MIB of float32, compiled with Adam (two more slots of the same size), trained
one step and written as a TF checkpoint and a .keras archive (A), then trained one more step (B). Each
command runs as a fresh `python -m ckptlint` process; peak RSS comes from wait4 (so it covers the worker
child that inspect/diff supervise), CPU is user + system time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

_BUILD = r"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np, tensorflow as tf, keras
out, mib = sys.argv[1], int(sys.argv[2])
dim = 1024
rows = mib * (1 << 20) // (4 * dim)
model = keras.Sequential([keras.Input((1,), dtype="int32"), keras.layers.Embedding(rows, dim),
                          keras.layers.Flatten(), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
x = np.random.RandomState(0).randint(0, rows, size=(64, 1)).astype("int32")
y = np.zeros((64, 1), "float32")
for name in ("a", "b"):
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    tf.train.Checkpoint(model=model, optimizer=model.optimizer).write(os.path.join(out, name, "ckpt"))
    model.save(os.path.join(out, f"{name}.keras"))
"""


def run(argv: list[str]) -> tuple[float, float, int, int]:
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "ckptlint", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    if err:
        print(f"    stderr: {err.splitlines()[-1][:200]}")
    return time.monotonic() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the artifacts (needs ~8x EMBEDDING_MIB)")
    parser.add_argument("--embedding-mib", type=int, default=512)
    args = parser.parse_args()
    root = args.out / f"embedding-{args.embedding_mib}"
    if not (root / "b.keras").exists():
        root.mkdir(parents=True, exist_ok=True)
        print(f"building {root} with TensorFlow ...", file=sys.stderr)
        subprocess.run([sys.executable, "-c", _BUILD, str(root), str(args.embedding_mib)], check=True,
                       stderr=subprocess.DEVNULL)
    sizes = {p.name: sum(f.stat().st_size for f in p.rglob("*")) if p.is_dir() else p.stat().st_size
             for p in root.iterdir()}
    print(f"artifacts under {root}: " + ", ".join(f"{k} {v / (1 << 30):.2f} GiB" for k, v in sorted(sizes.items())))
    import ckptlint

    print(f"ckptlint from {Path(ckptlint.__file__).parent}")
    commands = [
        ("inspect ckpt", ["inspect", str(root / "a" / "ckpt")]),
        ("inspect .keras", ["inspect", str(root / "a.keras")]),
        ("diff ckpt A B", ["diff", str(root / "a" / "ckpt"), str(root / "b" / "ckpt")]),
        ("diff .keras A B", ["diff", str(root / "a.keras"), str(root / "b.keras")]),
        ("diff ckpt A .keras A", ["diff", str(root / "a" / "ckpt"), str(root / "a.keras")]),
    ]
    for label, argv in commands:
        wall, cpu, rss, code = run(argv)
        print(f"{label:22} wall {wall:6.1f} s  CPU {cpu:6.1f} s  peak RSS {rss / 1024:7.0f} MiB  exit {code}")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
