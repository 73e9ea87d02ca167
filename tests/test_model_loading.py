"""ckptlint.model.loading: static path values, load/resume facts shared by CKPT203-206."""

from __future__ import annotations

import textwrap

import libcst as cst

from ckptlint.model import ModuleModel
from ckptlint.model.paths import PLACEHOLDER, file_identity as path_identity, file_kind, module_constants, module_name_of, path_value, resolve_placeholders, same_path
from ckptlint.model.loading import exclusive, loaded_models, resume_evidence


def _model(code: str) -> ModuleModel:
    return ModuleModel.build(cst.parse_module(textwrap.dedent(code)))


def _call(model: ModuleModel, method: str | None = None, callee: str | None = None):
    return next(c for c in model.calls if (method and c.method == method) or (callee and c.callee == callee))


def test_path_values_of_constants_joins_fstrings_and_defaults():
    model = _model('''
        import os
        from pathlib import Path
        ROOT = "runs"
        RUN = os.path.join(ROOT, "exp1")
        def save(ckpt, directory=RUN, step=3):
            ckpt.save(os.path.join(directory, "ckpt"))
            ckpt.write(f"{ROOT}/final")
            ckpt.write(str(Path(ROOT) / "p"))
            ckpt.write(directory + "/x-" + step)
    ''')
    values = [path_value(model, c.arg(0, "file_prefix"), c.scope) for c in model.calls if c.method in ("save", "write")]
    assert values == ["runs/exp1/ckpt", "runs/final", "runs/p", None]


def test_imported_constants_stay_symbolic_and_resolve_against_the_nearest_module():
    model = _model('''
        import tensorflow as tf
        from train import CKPT_DIR
        tf.train.latest_checkpoint(CKPT_DIR)
    ''')
    call = _call(model, callee="tf.train.latest_checkpoint")
    value = path_value(model, call.arg(0, "checkpoint_dir"), call.scope)
    assert value == f"{PLACEHOLDER}train.CKPT_DIR{PLACEHOLDER}"
    constants = {"proj.buggy.train": {"CKPT_DIR": "runs/a"}, "proj.fixed.train": {"CKPT_DIR": "runs/b"}}
    assert resolve_placeholders(value, constants) == "runs/a"  # the first candidate in the given order
    assert resolve_placeholders(value, {"other": {"X": "y"}}) is None
    assert module_name_of("proj/buggy/train.py") == "proj.buggy.train"
    assert module_name_of("pkg/__init__.py") == "pkg"


def test_module_constants_are_the_names_bound_once_to_a_static_path():
    model = _model('''
        import os
        A = "runs"
        B = os.path.join(A, "b")
        C = compute()
        D = "x"
        D = "y"
    ''')
    assert module_constants(model) == {"A": "runs", "B": "runs/b"}


def test_symbolic_paths_compare_run_time_names_within_a_module():
    model = _model('''
        import os
        def f(tmpdir, ckpt):
            ckpt.save(os.path.join(tmpdir, "ckpt"))
            ckpt.restore(tmpdir + "/ckpt-1")
    ''')
    save, restore = (c for c in model.calls if c.method in ("save", "restore"))
    assert path_value(model, save.arg(0, "x"), save.scope) is None
    left = path_value(model, save.arg(0, "x"), save.scope, symbolic=True)
    right = path_value(model, restore.arg(0, "x"), restore.scope, symbolic=True)
    assert left is not None and right is not None and left.rsplit("/", 1)[0] == right.rsplit("/", 1)[0]


def test_loaded_models_follow_conditional_expressions_and_branches():
    model = _model('''
        import os
        import keras
        PATH = "run/model.keras"
        model = keras.models.load_model(PATH) if os.path.exists(PATH) else build()
        if os.path.exists(PATH):
            other = keras.models.load_model(PATH)
        else:
            other = build()
            other.compile(optimizer="adam")
        other.fit(x, y, initial_epoch=3)
    ''')
    loaded = list(loaded_models(model))
    assert [model.name_of(item.key) for item in loaded] == ["model", "other"]
    compile_call = _call(model, method="compile")
    assert exclusive(model, loaded[1].call.node, compile_call.node)
    assert not exclusive(model, loaded[0].call.node, compile_call.node)
    assert resume_evidence(model, loaded[1].call, loaded[1].key, loaded[1].call.arg(0, "filepath")) is not None


def test_resume_evidence_needs_the_same_file_or_initial_epoch():
    model = _model('''
        import os
        import keras
        def resume(directory):
            model = keras.models.load_model(os.path.join(directory, "model.keras"))
            model.fit(x, y)
            model.save(os.path.join(directory, "model.keras"))
        def finetune():
            base = keras.models.load_model("pretrained.keras")
            base.fit(x, y)
            base.save("finetuned.keras")
    ''')
    resumed, finetuned = loaded_models(model)
    assert resume_evidence(model, resumed.call, resumed.key, resumed.call.arg(0, "filepath")) == \
        "this script also saves to that path"
    assert resume_evidence(model, finetuned.call, finetuned.key, finetuned.call.arg(0, "filepath")) is None


def test_file_kinds_and_path_identity():
    model = _model('''
        import os
        W = "w.weights.h5"
        def f(d, m):
            m.load_weights(os.path.join(d, W))
            m.load_weights(d + "/legacy.hdf5")
            m.load_weights(f"{d}/model.keras")
            m.load_weights(d)
    ''')
    calls = [c for c in model.calls if c.method == "load_weights"]
    assert [file_kind(model, c.arg(0, "filepath"), c.scope) for c in calls] == ["weights.h5", "h5", "keras", None]
    first = path_identity(model, calls[0].arg(0, "filepath"), calls[0].scope)
    assert same_path(first, ("value", "ckpts/w.weights.h5"))
    assert not same_path(first, ("value", "ckpts/other.weights.h5"))
