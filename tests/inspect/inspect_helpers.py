"""Small helpers shared by the inspector tests."""

from __future__ import annotations

from ckptlint.cli import main
from ckptlint.inspect import Inventory

MLP_SHAPES = [(3, 4), (4,), (4, 1), (1,)]


def table(inv: Inventory, component: str | None = None) -> list[tuple]:
    """(path, component, shape, dtype, slot kind, slot owner) rows, in inventory order."""
    return [
        (v.path, v.component, v.shape, v.dtype, v.slot_kind, v.slot_for)
        for v in inv.variables
        if component is None or v.component == component
    ]


def adam_slots(prefix: str, owners: list[str], start: int = 2) -> list[tuple]:
    """Keras 3 Adam layout: momentum and velocity interleaved per trainable variable."""
    rows = []
    for i, (owner, shape) in enumerate(zip(owners, MLP_SHAPES)):
        for j, kind in enumerate(("momentum", "velocity")):
            rows.append((f"{prefix}/vars/{start + 2 * i + j}", "optimizer", shape, "float32", kind, owner))
    return rows


def value(inv: Inventory, path: str):
    return inv.by_path()[path].values().item()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """`ckptlint ARGV` through the real entry point: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_error(result: tuple[int, str, str], *fragments: str) -> str:
    """Exit 2, nothing on stdout, exactly one `ckptlint: error:` line holding every fragment."""
    code, out, err = result
    assert (code, out) == (2, ""), err
    assert err.count("\n") == 1 and err.startswith("ckptlint: error: "), err
    for fragment in fragments:
        assert fragment in err, err
    return err
