"""CKPT303 every-worker-writes-one-path."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.lint.rule import Diagnostic, Invalid, Rule
from ckptlint.model import Call, ModuleModel, Role
from ckptlint.model.keras_usage import guarding_tests, mentioned_names
from ckptlint.model.restores import in_test_case

_STRATEGIES = ("tf.distribute.MultiWorkerMirroredStrategy", "tf.distribute.experimental.MultiWorkerMirroredStrategy")
# Words that say a name depends on which worker runs the code: a chief test or a per-worker path.
_WORKER_WORDS = ("chief", "task_id", "task_type", "task_index", "worker", "rank", "write_filepath",
                 "write_dir", "temp", "tmp")


class EveryWorkerWritesOnePath(Rule):
    """
    ## What it does
    Finds checkpoint writes in a module that trains under `tf.distribute.MultiWorkerMirroredStrategy`
    that every worker runs with the same path: `CheckpointManager.save()`, `Checkpoint.save/write`,
    `model.save`, `model.save_weights`, with no chief test around them (`if is_chief:`, `task_id == 0`,
    an early `return` for the other workers, also at the call sites of the function holding the write)
    and a path that does not depend on the worker (`write_filepath(path, task_type, task_id)`, a
    per-worker temporary directory).

    ## Why is this bad?
    Every worker of a multi-worker job runs the same script, so every worker executes the save, at the
    same moment. A TF checkpoint save writes its data to `<prefix>_temp/part-...` and then merges it into
    `<prefix>.index` / `.data-...` and deletes the temporary directory: two processes doing that on one
    prefix delete each other's files mid-save, and the save fails in `MergeV2Checkpoints` with a
    `NotFoundError` or "allow_missing_files was set to false" (ray-project/ray#27938 reports the same for
    `model.save`; tensorflow/tensorflow#38635). Keras 3's callbacks have no chief logic of their own.

    Measured on TF 2.21 + Keras 3.15 (`tests/harness/test_runtime_multi_worker_one_path.py`, two worker
    processes on 127.0.0.1): with a `CheckpointManager` save after each of 20 steps into one
    directory, a save failed in 6 of 7 runs (in both `NotFoundError` and `InvalidArgumentError` forms;
    the run without a failure had another TensorFlow test running beside it); both workers then died.
    With the chief writing the real directory and the other worker a directory of its own, no save
    failed, and both workers restarted from the chief's latest checkpoint with every variable and the
    optimizer's step count as saved.

    Writes guarded by a chief test, writes to a path built from the task type or id, and modules that
    do not create a `MultiWorkerMirroredStrategy` are not flagged.

    ## Use instead
    The pattern of the TF multi-worker tutorial: every worker saves (saving takes part in collective
    communication), only the chief to the real path.
    ```python
    def write_directory(directory, strategy):
        task_type, task_id = strategy.cluster_resolver.task_type, strategy.cluster_resolver.task_id
        is_chief = task_type is None or task_type == "chief" or (task_type == "worker" and task_id == 0)
        return directory if is_chief else os.path.join(directory, f"worker_temp_{task_id}")

    manager = tf.train.CheckpointManager(checkpoint, write_directory(checkpoint_dir, strategy), max_to_keep=3)
    ```

    ## Fix safety
    No autofix: which worker is the chief, and where the others may write, depend on the cluster.

    ## References
    - tensorflow/tensorflow#38635, tensorflow/tensorflow#31070, ray-project/ray#27938
    - https://www.tensorflow.org/tutorials/distribute/multi_worker_with_keras (model saving and loading)
    - https://www.tensorflow.org/tutorials/distribute/multi_worker_with_ctl (checkpoint saving and restoring)
    - `docs/framework.md#multi-worker-saves` (multi-worker saves)
    """

    code = "CKPT303"
    name = "every-worker-writes-one-path"
    severity = Severity.ERROR
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    summary = "Under MultiWorkerMirroredStrategy every worker saves to the same path: the saves race and fail."
    api_words = ("MultiWorkerMirroredStrategy",)

    VALID = [
        # The tutorial: the chief writes the real directory, the others a temporary one.
        """
import os
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
def write_filepath(filepath, task_type, task_id):
    dirpath = os.path.dirname(filepath)
    base = os.path.basename(filepath)
    if not (task_type is None or task_type == "chief" or (task_type == "worker" and task_id == 0)):
        dirpath = os.path.join(dirpath, "workertemp_" + str(task_id))
    return os.path.join(dirpath, base)
task_type, task_id = strategy.cluster_resolver.task_type, strategy.cluster_resolver.task_id
model.save(write_filepath("/tmp/model.keras", task_type, task_id))
""",
        # A chief-only save.
        """
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(checkpoint, "ckpt", max_to_keep=3)
is_chief = strategy.cluster_resolver.task_id == 0
for step in range(100):
    train_step()
    if is_chief:
        manager.save()
""",
        # An early return for the other workers.
        """
import tensorflow as tf
strategy = tf.distribute.experimental.MultiWorkerMirroredStrategy()
def save(model, path, task_id):
    if task_id != 0:
        return
    model.save_weights(path)
""",
        # One machine, several devices: MirroredStrategy has one process.
        """
import tensorflow as tf
strategy = tf.distribute.MirroredStrategy()
ckpt = tf.train.Checkpoint(model=model)
ckpt.save("ckpt/model")
""",
        # The path depends on the worker.
        """
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
rank = strategy.cluster_resolver.task_id
ckpt = tf.train.Checkpoint(model=model)
ckpt.write(f"ckpt/rank{rank}/state")
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = build_model()
    optimizer = tf.keras.optimizers.Adam()
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(checkpoint, "/shared/ckpt", max_to_keep=3)
for epoch in range(10):
    train_epoch()
    manager.save()
""",
            lines=(11,),
            message="every worker",
        ),
        # tensorflow/tensorflow#38635: model.save on every worker.
        Invalid(
            """
import tensorflow as tf
def main(argv):
    strategy = tf.distribute.experimental.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
        model.compile(optimizer=tf.keras.optimizers.Adam(), loss="mse")
    model.fit(dataset, epochs=3)
    model.save(FLAGS.model_dir + "/model.keras")
""",
            lines=(9,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        strategies = list(module.calls_to(*_STRATEGIES))
        if not strategies:
            return
        for call in module.calls:
            path = _written_path(module, call)
            if path is None or in_test_case(call.scope):
                continue
            if _names_worker(mentioned_names(module, path, call.scope)):
                continue
            if any(_names_worker(mentioned_names(module, test, call.scope, depth=1))
                   for test in guarding_tests(module, call)):
                continue
            yield Diagnostic(
                call.node,
                "under `MultiWorkerMirroredStrategy` every worker runs this save to the same path: the "
                "workers delete each other's temporary files and saves fail; let only "
                "the chief write this path and the others a directory of their own",
                related=[(strategies[0].node, "the multi-worker strategy")],
            )


def _written_path(module: ModuleModel, call: Call) -> cst.BaseExpression | None:
    """The path a checkpoint write goes to (for `manager.save()`, the manager's directory)."""
    roles = module.roles(call.receiver)
    if call.method == "save" and Role.MANAGER in roles:
        manager = module.manager_for(call.receiver)
        return manager.call.arg(1, "directory") if manager is not None else None
    if call.method in ("save", "write") and Role.CHECKPOINT in roles:
        return call.arg(0, "file_prefix")
    if call.method in ("save", "save_weights") and Role.MODEL in roles:
        return call.arg(0, "filepath")
    return None


def _names_worker(names: set[str]) -> bool:
    return any(word in name for name in names for word in _WORKER_WORDS)
