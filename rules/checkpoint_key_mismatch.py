"""CKPT203 checkpoint-key-mismatch (project-wide)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Iterable, Iterator

import libcst as cst

from ckptlint.lint.findings import Finding, Location, Related, Severity
from ckptlint.model import Call, CheckpointFact, ManagerFact, ModuleModel, Role
from ckptlint.model.paths import (
    module_constants, module_name_of, normalize, path_value, resolve_imported, resolve_placeholders,
)
from ckptlint.lint.rule import Diagnostic, Invalid, ProjectRule
from ._key_mismatch_summary import Place, Summary, Use

_NUMBERED = re.compile(r"-\d+$")


@dataclass
class _Use:
    kind: str  # "write" | "restore"
    place: Place
    keys: frozenset[str]
    node: cst.CSTNode
    partial: bool = False


class CheckpointKeyMismatch(ProjectRule):
    """
    ## What it does
    Finds a `tf.train.Checkpoint` that restores from a path or directory written by another
    `tf.train.Checkpoint` with different keywords — in the same module or anywhere in the linted project
    (saved in train.py as `net=model`, restored in evaluate.py as `model=model`). Paths are compared by
    value: string constants, module constants (also imported from another module of the project),
    `os.path.join`, defaults of `directory` parameters. A `save(prefix)` writes `prefix-N`, which
    `restore("…/prefix-3")`, `tf.train.latest_checkpoint(dir)` and a `CheckpointManager` over that
    directory all read. Both places are reported. Given only some files of a project (a pre-commit hook
    passes the staged ones), ckptlint still reads the others, and reports a mismatch whose restore is in
    a file it was not given at the write in a file it was.

    A restore that takes only part of what was saved (`Checkpoint(model=model)` from a checkpoint that
    also holds the optimizer, for evaluation) is fine; so is a partial restore marked `expect_partial()`
    that still shares keys with the file (deliberate remapping for fine-tuning), and a restore from a
    different directory.

    ## Why is this bad?
    A checkpoint is a graph keyed by attribute names. An object under a key the file does not have is
    simply not restored — and `restore()` does not complain. Measured on TF 2.21 (`docs/framework.md#key-mismatch`):
    saved as `net=`, restored as `model=`, `restore()` is silent and the weights keep their fresh
    initial values; `assert_nontrivial_match()` still passes (the save counter matched); only
    `assert_consumed()`/`assert_existing_objects_matched()` raise "Found 4 Python objects that were not
    bound to checkpointed values". Evaluation then scores a random model, or a resumed run starts over
    (tensorflow/tensorflow#27937; `assert_nontrivial_match()` only catches the case where nothing
    matched, mnicnc404/CartoonGan-tensorflow#53: "Nothing except the root object matched a checkpointed value").

    ## Use instead
    ```python
    # evaluate.py: the key the checkpoint was written with
    ckpt = tf.train.Checkpoint(net=model)
    ckpt.restore(tf.train.latest_checkpoint(CKPT_DIR)).expect_partial()
    ```

    ## References
    - `docs/framework.md#key-mismatch`, `docs/framework.md#checking-a-restore`
    - tensorflow/tensorflow#27937, mnicnc404/CartoonGan-tensorflow#53
    """

    code = "CKPT203"
    name = "checkpoint-key-mismatch"
    severity = Severity.ERROR
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    summary = "A Checkpoint restores keys that the Checkpoint which wrote that path does not have."
    api_words = ("Checkpoint",)

    VALID = [
        # Evaluation restores a subset of what training wrote.
        """
import tensorflow as tf
CKPT_DIR = "/tmp/run"
def train(model, optimizer):
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, step=tf.Variable(0))
    manager = tf.train.CheckpointManager(ckpt, CKPT_DIR, max_to_keep=3)
    manager.save()
def evaluate(model):
    ckpt = tf.train.Checkpoint(model=model)
    ckpt.restore(tf.train.latest_checkpoint(CKPT_DIR)).expect_partial()
""",
        # Fine-tuning: remapped keys from a pretraining checkpoint, restored with expect_partial().
        """
import tensorflow as tf
def pretrain(encoder, head, opt):
    tf.train.Checkpoint(encoder=encoder, head=head, optimizer=opt).save("/tmp/pre/ckpt")
def finetune(encoder, classifier):
    ckpt = tf.train.Checkpoint(encoder=encoder, classifier=classifier)
    ckpt.restore(tf.train.latest_checkpoint("/tmp/pre")).expect_partial()
""",
        # Different directories: a pretraining checkpoint and the fine-tuning run's own.
        """
import tensorflow as tf
pre = tf.train.Checkpoint(backbone=model.backbone)
pre.restore("/data/pretrained/ckpt-100")
run = tf.train.Checkpoint(model=model, optimizer=opt)
run.save("/tmp/finetune/ckpt")
""",
        # TF1 Saver code is out of scope.
        """
import tensorflow as tf
saver = tf.compat.v1.train.Saver({"net": w})
saver.save(sess, "/tmp/m/ckpt")
tf.compat.v1.train.Saver({"model": w}).restore(sess, "/tmp/m/ckpt")
""",
        # Unknown paths: two functions' parameters, or a name rebound in between, are not compared.
        """
import tensorflow as tf
def save(model, path):
    tf.train.Checkpoint(net=model).save(path)
def load(model, path):
    tf.train.Checkpoint(model=model).restore(path)
def convert(model, args):
    prefix = args.old_prefix
    tf.train.Checkpoint(net=model).save(prefix)
    prefix = args.new_prefix
    tf.train.Checkpoint(model=model).restore(prefix)
""",
    ]
    INVALID = [
        # Keras 2: ModelCheckpoint(save_weights_only=True) writes a TF checkpoint whose root is the model.
        Invalid(
            """
import tf_keras
import tensorflow as tf
def train(model, model_dir):
    callback = tf_keras.callbacks.ModelCheckpoint(model_dir + "/cp-{epoch:04d}.ckpt", save_weights_only=True)
    model.fit(x, y, epochs=10, callbacks=[callback])
def resume(model, optimizer, model_dir):
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    ckpt.restore(tf.train.latest_checkpoint(model_dir))
    model.fit(x, y, epochs=10)
""",
            lines=(9,),
            message="with the model itself as the root",
        ),
        # Save and resume in two functions of one module, keyed differently: asserting the status turns a
        # silent loss into a crash at resume time, after the job was rescheduled.
        Invalid(
            """
import tensorflow as tf
def save(model, optimizer, directory):
    ckpt = tf.train.Checkpoint(net=model, optimizer=optimizer)
    ckpt.save(directory + "/ckpt")
def resume(model, optimizer, directory):
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    ckpt.restore(tf.train.latest_checkpoint(directory)).assert_consumed()
""",
            lines=(8,),
            message="rename `model=` to `net=`",
        ),
        Invalid(
            """
import tensorflow as tf
CKPT_DIR = "/tmp/run"
def train(model, optimizer):
    ckpt = tf.train.Checkpoint(net=model, optimizer=optimizer)
    manager = tf.train.CheckpointManager(ckpt, CKPT_DIR, max_to_keep=3)
    manager.save()
def evaluate(model):
    ckpt = tf.train.Checkpoint(model=model)
    ckpt.restore(tf.train.latest_checkpoint(CKPT_DIR))
""",
            lines=(10,),
        ),
        # A numbered prefix and os.path.join; a restore through a manager over the same directory.
        Invalid(
            """
import os
import tensorflow as tf
PREFIX = os.path.join("runs", "exp1", "ckpt")
class Trainer:
    def __init__(self, model, opt):
        self.ckpt = tf.train.Checkpoint(model=model, opt=opt)
    def save(self):
        self.ckpt.save(PREFIX)
def resume(model, optimizer):
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    ckpt.restore(os.path.join("runs", "exp1", "ckpt-3"))
    other = tf.train.Checkpoint(net=model)
    manager = tf.train.CheckpointManager(other, "runs/exp1", max_to_keep=2)
    manager.restore_or_initialize()
""",
            lines=(12, 15),
        ),
        # In one module, paths built from the same run-time name (or returned by the save) are the same.
        Invalid(
            """
import os
import tensorflow as tf
def test_resume(tmpdir, model, optimizer):
    ckpt = tf.train.Checkpoint(net=model, optimizer=optimizer)
    path = ckpt.save(os.path.join(tmpdir, "ckpt"))
    fresh = tf.train.Checkpoint(model=model, optimizer=optimizer)
    fresh.restore(path)
    again = tf.train.Checkpoint(model=model)
    again.restore(tf.train.latest_checkpoint(tmpdir))
""",
            lines=(8, 10),
        ),
    ]

    # ---- per module ---------------------------------------------------------------------------
    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        uses = list(_uses(module, symbolic=True))
        writes = [u for u in uses if u.kind == "write"]
        for restore in uses:
            if restore.kind != "restore":
                continue
            matching = [w for w in writes if w.place.matches(restore.place)]
            problem = _mismatch(restore.keys, restore.partial, [w.keys for w in matching])
            if problem is None:
                continue
            write = matching[0]
            yield Diagnostic(restore.node, _message(restore.keys, write.keys, restore.place, problem),
                             related=[(write.node, f"written here with {_keys(write.keys)}")])

    summary_type = Summary

    def summarize(self, module: ModuleModel, locator) -> Summary:
        return Summary(
            constants=module_constants(module),
            uses=[Use(u.kind, _resolved(u.place, module), u.keys, locator.location(u.node), u.partial)
                  for u in _uses(module)],
        )

    def may_report_in(self, summary: object) -> bool:
        # findings are put at restores, and at the writes of files named with their project as context
        # (a pre-commit hook given only the save side): a file with neither has nothing to suppress
        return not isinstance(summary, Summary) or bool(summary.uses)

    # ---- across modules -----------------------------------------------------------------------
    def check_project(self, project) -> Iterable[Finding]:
        constants = {module_name_of(path): summary.constants for path, summary in project.items()}
        resolved: list[tuple[str, Use]] = []
        for path, summary in project.items():
            if not summary.uses:  # nothing to compare; its constants are still looked up above
                continue
            importer = module_name_of(path)
            nearest = _nearest_first(importer, constants)
            for use in summary.uses:
                directory = resolve_placeholders(use.place.directory, nearest)
                stem = resolve_placeholders(use.place.stem, nearest) if use.place.stem else None
                if directory is None or (use.place.stem and stem is None):
                    continue
                resolved.append((path, Use(use.kind, Place(directory, stem), use.keys, use.location, use.partial)))
        writes = [(path, use) for path, use in resolved if use.kind == "write"]
        for path, restore in resolved:
            if restore.kind != "restore":
                continue
            matching = [(p, w) for p, w in writes if w.place.matches(restore.place)]
            matching = _closest(path, matching)
            if not matching or all(p == path for p, _ in matching):
                continue  # nothing written there, or only this module writes it: reported by check()
            problem = _mismatch(restore.keys, restore.partial, [w.keys for _, w in matching])
            if problem is None:
                continue
            if project.in_scope(path):
                write_path, write = next((p, w) for p, w in matching if p != path)
                yield Finding(
                    self.code, _message(restore.keys, write.keys, restore.place, problem), self.severity,
                    restore.location, _line(restore.location),
                    (Related(write.location, f"written here with {_keys(write.keys)}"),),
                )
                continue
            # The restore is in a file the user did not ask about (a pre-commit hook given only the
            # save side): the mismatch is reported at the write they are changing.
            for write_path, write in matching:
                if write_path != path and project.in_scope(write_path):
                    yield Finding(
                        self.code, _write_message(write.keys, restore, problem), self.severity,
                        write.location, _line(write.location),
                        (Related(restore.location, f"restored here with {_keys(restore.keys)}"),),
                    )
                    break


# ---- collecting writes and restores ------------------------------------------------------------
def _uses(module: ModuleModel, symbolic: bool = False) -> Iterator[_Use]:
    """Writes and restores of every checkpoint with a known place. `symbolic` (one module only) also
    compares paths built from the same run-time name (`tmpdir`, `args.model_dir`)."""
    for fact in module.checkpoints:
        items = fact.all_items
        if fact.opaque or not items:
            continue
        keys = frozenset(items)
        managers = [m for m in module.managers if m.checkpoint is fact]
        for call in module.checkpoint_writes(fact):
            place = _write_place(module, call, managers, symbolic)
            if place is not None:
                yield _Use("write", place, keys, call.node)
        # Looked up by receiver (ModuleModel.calls_on), not by scanning every call for every checkpoint.
        reads = module.calls_on(fact, ("restore", "read"))
        initializations = module.calls_on_keys([key for m in managers for key in m.keys], ("restore_or_initialize",))
        for call in sorted(reads + initializations, key=lambda call: call.order):
            place = None
            if call.method in ("restore", "read"):
                place = _read_place(module, call.arg(0, "save_path"), call, symbolic)
            else:
                manager = next((m for m in managers if call.receiver in m.keys), None)
                place = _manager_place(module, manager, symbolic) if manager else None
            if place is not None:
                yield _Use("restore", place, keys, call.node, _is_partial(module, call))
    yield from _keras2_weight_writes(module, symbolic)


# The keys of a checkpoint Keras 2 writes with `save_weights` in the TF format: the model itself is
# the root (its layers, and `optimizer` when it is compiled), so there is no `model` key.
ROOT_MODEL = "(the model itself)"
_KERAS_FILES = (".h5", ".hdf5", ".keras")


def _keras2_weight_writes(module: ModuleModel, symbolic: bool) -> Iterator[_Use]:
    """Keras 2 weight checkpoints in the TF format: `model.save_weights(prefix)` and
    `ModelCheckpoint(prefix, save_weights_only=True)`, whose root is the model."""
    if module.keras_generation() != 2:
        return
    for call in module.calls:
        weights_only = call.callee == "keras.callbacks.ModelCheckpoint" and _is_true(call.kwarg("save_weights_only"))
        if not weights_only and not (call.method == "save_weights" and call.receiver_expr is not None
                                     and Role.MODEL in module.roles_of_expr(call.receiver_expr, call.scope)):
            continue
        if call.kwarg("save_format") is not None and module.string_value(call.kwarg("save_format"), call.scope) != "tf":
            continue
        prefix = path_value(module, call.arg(0, "filepath"), call.scope, symbolic=symbolic)
        if not prefix or prefix.lower().endswith(_KERAS_FILES):
            continue
        directory, stem = posixpath.split(normalize(prefix))
        compiled = weights_only or any(module.is_compiled(obj) for obj in
                                       module.objects(call.receiver_expr, call.scope, call.order))
        keys = frozenset({ROOT_MODEL, "optimizer"} if compiled else {ROOT_MODEL})
        yield _Use("write", Place(directory or ".", stem if "{" not in stem else None), keys, call.node)


def _is_true(expr) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


def _refers_to(call: Call, fact: CheckpointFact) -> bool:
    if call.receiver is not None:
        return call.receiver in fact.keys
    return call.receiver_expr is fact.call.node


def _write_place(module: ModuleModel, call: Call, managers: list[ManagerFact], symbolic: bool) -> Place | None:
    manager = next((m for m in managers if call.receiver is not None and call.receiver in m.keys), None)
    if manager is not None:
        return _manager_place(module, manager, symbolic)
    prefix = path_value(module, call.arg(0, "file_prefix"), call.scope, symbolic=symbolic)
    if not prefix:
        return None
    directory, stem = posixpath.split(normalize(prefix))
    return Place(directory or ".", stem)


def _manager_place(module: ModuleModel, manager: ManagerFact, symbolic: bool) -> Place | None:
    directory = path_value(module, manager.call.arg(1, "directory"), manager.call.scope, symbolic=symbolic,
                           directory=True)
    if not directory:
        return None
    name_expr = manager.call.arg(4, "checkpoint_name")
    stem = path_value(module, name_expr, manager.call.scope) if name_expr is not None else "ckpt"
    return Place(normalize(directory), stem)


def _read_place(module: ModuleModel, expr: cst.BaseExpression | None, call: Call, symbolic: bool,
                depth: int = 0) -> Place | None:
    if expr is None or depth > 4:
        return None
    if isinstance(expr, cst.Call):
        if module.qualify(expr.func) == "tf.train.latest_checkpoint" and expr.args:
            directory = path_value(module, expr.args[0].value, call.scope, symbolic=symbolic, directory=True)
            return Place(normalize(directory), None) if directory else None
        written = _returned_by_write(module, expr, symbolic)
        if written is not None:
            return written
    manager_attr = _manager_attribute(module, expr, call, symbolic)
    if manager_attr is not None:
        return manager_attr
    key = module.key_of(expr, call.scope)
    if key is not None and key in module.bindings:
        assignments = module.bindings[key].assignments
        if len(assignments) == 1 and isinstance(assignments[0].value, cst.Call):
            written = _returned_by_write(module, assignments[0].value, symbolic)
            if written is not None:  # `path = ckpt.save(prefix)` ... `other.restore(path)`
                return written
    value = path_value(module, expr, call.scope, symbolic=symbolic)
    if value:
        directory, stem = posixpath.split(normalize(value))
        return Place(directory or ".", _NUMBERED.sub("", stem))
    if key is not None and key in module.bindings:
        assignments = module.bindings[key].assignments
        if len(assignments) == 1 and assignments[0].value is not None:
            return _read_place(module, assignments[0].value, call, symbolic, depth + 1)
    return None


def _returned_by_write(module: ModuleModel, node: cst.Call, symbolic: bool) -> Place | None:
    """The place of the checkpoint that a `ckpt.save(prefix)` / `manager.save()` call returns the path of."""
    inner = module.call_at(node)
    if inner is None or inner.method not in ("save", "write"):
        return None
    for fact in module.checkpoints:
        managers = [m for m in module.managers if m.checkpoint is fact]
        if _refers_to(inner, fact) or any(inner.receiver is not None and inner.receiver in m.keys for m in managers):
            return _write_place(module, inner, managers, symbolic)
    return None


def _manager_attribute(module: ModuleModel, expr: cst.BaseExpression, call: Call, symbolic: bool) -> Place | None:
    """`manager.latest_checkpoint` or `manager.checkpoints[-1]`."""
    if isinstance(expr, cst.Subscript):
        expr = expr.value
    if isinstance(expr, cst.Attribute) and expr.attr.value in ("latest_checkpoint", "checkpoints"):
        manager = module.manager_for(module.key_of(expr.value, call.scope))
        if manager is not None:
            return _manager_place(module, manager, symbolic)
    return None


def _is_partial(module: ModuleModel, call: Call) -> bool:
    if "expect_partial" in call.chained:
        return True
    return any(c.method == "expect_partial" and c.receiver in call.assigned_to for c in module.calls)


# ---- comparing ----------------------------------------------------------------------------------
def _mismatch(restored: frozenset[str], partial: bool, written: list[frozenset[str]]) -> frozenset[str] | None:
    """The restored keys absent from the file, when every checkpoint written there lacks some; None when
    one of them has every key (or, for expect_partial(), shares any)."""
    if not written:
        return None
    missing_sets = []
    for keys in written:
        missing = restored - keys
        if not missing or (partial and restored & keys):
            return None
        missing_sets.append(missing)
    return min(missing_sets, key=len)


def _message(restored: frozenset[str], written: frozenset[str], place: Place, missing: frozenset[str]) -> str:
    if ROOT_MODEL in written:
        return (f"this checkpoint restores {_keys(missing)} from `{place.display()}`, but Keras 2 wrote the weights "
                f"there with the model itself as the root (no `model` key): those objects are silently not "
                f"restored (the optimizer's `iterations` may be, and hide it); load them with "
                f"`model.load_weights(path)` or `tf.train.Checkpoint(root=model)`")
    extra = sorted(written - restored)
    hint = ""
    if len(missing) == 1 and len(extra) == 1:
        hint = f"; rename `{next(iter(missing))}=` to `{extra[0]}=`"
    return (f"this checkpoint restores {_keys(missing)} from `{place.display()}`, but the checkpoint written there "
            f"holds {_keys(written)}: those objects are silently not restored (`restore()` raises nothing, "
            f"only `assert_consumed()` would){hint}")


def _write_message(written: frozenset[str], restore: Use, missing: frozenset[str]) -> str:
    """The message of a mismatch reported at the write (its restore is outside the files checked)."""
    if ROOT_MODEL in written:
        return (f"Keras 2 writes these weights to `{restore.place.display()}` with the model itself as the root "
                f"(no `model` key), but {restore.location.display()} restores {_keys(missing)} from there: "
                f"those objects are silently not restored")
    return (f"this checkpoint writes {_keys(written)} to `{restore.place.display()}`, but "
            f"{restore.location.display()} restores "
            f"{_keys(missing)} from there: those objects are silently not restored (`restore()` raises "
            f"nothing, only `assert_consumed()` would)")


def _keys(keys: Iterable[str]) -> str:
    return ", ".join(f"`{k}`" for k in sorted(keys))


def _common(a: str, b: str) -> int:
    count = 0
    for x, y in zip(a.split("."), b.split(".")):
        if x != y:
            break
        count += 1
    return count


def _resolved(place: Place, module: ModuleModel) -> Place:
    """Constants imported from modules of the project that were not linted (the prefilter dropped a
    config module) are read from their summaries here."""
    stem = resolve_imported(place.stem, module) if place.stem else place.stem
    return Place(resolve_imported(place.directory, module), stem)


def _nearest_first(importer: str, constants: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Modules ordered by how much of the importer's package they share (sibling modules first)."""
    return dict(sorted(constants.items(), key=lambda item: -_common(importer, item[0])))


def _closest(path: str, matching: list[tuple[str, Use]]) -> list[tuple[str, Use]]:
    """Relative paths name the same files only within one project: keep the writes nearest the restore."""
    if not matching:
        return matching
    me = module_name_of(path)
    best = max(_common(me, module_name_of(p)) for p, _ in matching)
    return [(p, w) for p, w in matching if _common(me, module_name_of(p)) == best]


def _line(location: Location) -> str:
    """The source line of a project finding (the file is read again: summaries carry no text)."""
    if location.cell is not None:
        return ""  # notebook lines are numbered per cell; the raw JSON line would be wrong
    try:
        with open(location.path, encoding="utf-8") as handle:
            for number, text in enumerate(handle, 1):
                if number == location.line:
                    return text.rstrip("\n")
    except OSError:
        pass
    return ""
