"""Keras-level facts: callbacks given to `fit` and whether a `fit` resumes, model classes whose custom
`compile()` Keras cannot replay on load, where Keras writes its own files, and the tests a write runs
under (chief-only writes). CKPT106, CKPT207, CKPT208 and CKPT303 read them. Each answers one question:

- `fit_callbacks`: which callback constructions flow into a `fit(callbacks=...)` (list literals, names
  bound to lists and appended to, local functions that return the list);
- `fit_resume_reason`: why a `fit` continues an earlier run (`initial_epoch=`, BackupAndRestore, a model
  loaded from a file this module also writes);
- `custom_compile_classes`, `is_keras_compile_call`: Keras model classes defined here whose `compile()`
  Keras cannot replay on load, and compile calls that are not Keras' own;
- `path_text`, `keras_file_writes`, `tf_checkpoint_directories`: paths as comparable text (a parameter
  compares by name across methods), the directories Keras writes its own files into (`ModelCheckpoint`,
  `model.save("x.keras")`, `save_weights("x.weights.h5")`) and those TF checkpoints go to;
- `guarding_tests`, `mentioned_names`: the `if` tests a call runs under (through the callers of its
  function too) and the names an expression reads, for chief-only writes.

These read the builder's tables (calls by node, returns, local definitions) as `restores.py` does.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from ckptlint.model.facts import Call, Scope
from ckptlint.model.loading import loaded_models, resume_evidence
from ckptlint.model.vocabulary import LOAD_MODEL, SAVE_MODEL
from ckptlint.model.module import ModuleModel
from ckptlint.model.walk import subtree

BACKUP_AND_RESTORE = "keras.callbacks.BackupAndRestore"
MODEL_CHECKPOINT = "keras.callbacks.ModelCheckpoint"
_LIST_GROWERS = frozenset({"append", "extend", "insert"})
_KERAS_MODELS = frozenset({"keras.Model", "keras.Sequential"})


# ---- callbacks of a fit ---------------------------------------------------------------------------
def fit_callbacks(module: ModuleModel, fit: Call) -> list[Call]:
    """The callback constructions (calls) that reach `fit`'s `callbacks=` argument."""
    expr = fit.kwarg("callbacks")
    if expr is None:
        return []
    found: list[Call] = []
    _collect_calls(module, expr, fit.scope, found, depth=0, seen=set())
    return found


def _collect_calls(module: ModuleModel, expr: cst.BaseExpression, scope: Scope, found: list[Call],
                   depth: int, seen: set[int]) -> None:
    if depth > 5 or id(expr) in seen:
        return
    seen.add(id(expr))
    if isinstance(expr, (cst.List, cst.Tuple)):
        for element in expr.elements:
            _collect_calls(module, element.value, scope, found, depth + 1, seen)
    elif isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        _collect_calls(module, expr.left, scope, found, depth + 1, seen)
        _collect_calls(module, expr.right, scope, found, depth + 1, seen)
    elif isinstance(expr, cst.IfExp):
        _collect_calls(module, expr.body, scope, found, depth + 1, seen)
        _collect_calls(module, expr.orelse, scope, found, depth + 1, seen)
    elif isinstance(expr, cst.Call):
        call = module.builder.calls_by_node.get(id(expr))
        if call is None:
            return
        if call.callee is not None and not call.callee.startswith("local:"):
            found.append(call)
            return
        target = module.local_function(call)
        if target is not None:  # `callbacks=make_callbacks(d)`: what the helper returns
            for returned in module.builder.returns.get(id(target), []):
                _collect_calls(module, returned, target, found, depth + 1, seen)
        elif call.callee is not None:  # an instance of a callback class defined here
            found.append(call)
    else:
        key = module.key_of(expr, scope)
        if key is None or key not in module.bindings:
            return
        for assignment in module.bindings[key].assignments:
            if assignment.value is not None:
                _collect_calls(module, assignment.value, assignment.scope, found, depth + 1, seen)
        for grow in module.calls:  # `callbacks.append(ModelCheckpoint(...))`
            if grow.receiver == key and grow.method in _LIST_GROWERS:
                for arg in grow.node.args:
                    _collect_calls(module, arg.value, grow.scope, found, depth + 1, seen)


# ---- resumed fits ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResumeReason:
    text: str  # for a message: "BackupAndRestore restores the run"
    node: cst.CSTNode  # where the evidence is


def fit_resume_reason(module: ModuleModel, fit: Call, callbacks: list[Call]) -> ResumeReason | None:
    """Why this `fit` continues an earlier run in a new process, or None when nothing says it does."""
    for callback in callbacks:
        if callback.callee == BACKUP_AND_RESTORE:
            return ResumeReason("`BackupAndRestore` resumes this `fit` after a restart", callback.node)
    initial_epoch = fit.kwarg("initial_epoch")
    if initial_epoch is not None and not (isinstance(initial_epoch, cst.Integer) and initial_epoch.evaluated_value == 0):
        return ResumeReason("this `fit` resumes with `initial_epoch=`", initial_epoch)
    if fit.receiver is None:
        return None
    for load in _loads_into(module, fit):
        evidence = resume_evidence(module, load, fit.receiver, load.arg(0, "filepath"))
        if evidence is not None:
            return ResumeReason(f"the model is loaded from a checkpoint before this `fit` ({evidence})", load.node)
    return None


def _loads_into(module: ModuleModel, fit: Call) -> Iterator[Call]:
    """`model = load_model(p)` or `model.load_weights(p)` on the fitted binding, before the fit."""
    for loaded in loaded_models(module):
        if loaded.key == fit.receiver and loaded.at.order < fit.order:
            yield loaded.call
    for call in module.calls:
        if call.receiver == fit.receiver and call.method == "load_weights" and call.order < fit.order:
            yield call


# ---- custom compile() ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CustomCompile:
    cls: Scope  # the Keras model class
    compile_def: cst.FunctionDef  # its (possibly inherited) compile() override


def custom_compile_classes(module: ModuleModel) -> list[CustomCompile]:
    """Keras model classes defined in this module that override `compile()` (themselves or through a
    base class defined here) and override `compile_from_config()` nowhere in that chain: Keras' own
    `compile_from_config` then refuses to compile them on load. A base class ckptlint cannot see (an
    import from the project) might define `compile_from_config`, so such classes are left out."""
    result: list[CustomCompile] = []
    for name, scope in module.builder.local_defs.items():
        if scope.kind != "class":
            continue
        chain = _local_class_chain(module, scope)
        if chain is None or not any(base in _KERAS_MODELS for cls in chain for base in cls.bases):
            continue
        methods = {method.name: method for cls in reversed(chain) for method in _methods(module, cls)}
        compile_scope = methods.get("compile")
        if compile_scope is None or "compile_from_config" in methods:
            continue
        if isinstance(compile_scope.node, cst.FunctionDef):
            result.append(CustomCompile(scope, compile_scope.node))
    return result


def _local_class_chain(module: ModuleModel, scope: Scope) -> list[Scope] | None:
    """The class and its local bases, nearest first; None when a base is neither local nor Keras'."""
    chain = [scope]
    for base in scope.bases:
        if base.startswith("local:"):
            parent = module.builder.local_defs.get(base[len("local:"):])
            if parent is None or parent.kind != "class":
                return None
            inner = _local_class_chain(module, parent)
            if inner is None:
                return None
            chain += [cls for cls in inner if cls not in chain]
        elif not base.startswith("keras."):
            return None
    return chain


def _methods(module: ModuleModel, cls: Scope) -> Iterator[Scope]:
    for function in module.builder.functions:
        if function.parent is cls:
            yield function


KERAS_COMPILE_KEYWORDS = frozenset({
    "optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly", "steps_per_execution",
    "jit_compile", "auto_scale_loss", "sample_weight_mode", "target_tensors", "distribute", "pss_evaluation_shards",
})


def is_keras_compile_call(call: Call) -> bool:
    """False for a `compile(...)` given a keyword Keras' own `Model.compile` does not take
    (`g_optimizer=`): that is a class's custom compile, which CKPT208 is about."""
    return all(keyword in KERAS_COMPILE_KEYWORDS for keyword in call.keywords)


def loaded_model_calls(module: ModuleModel) -> Iterator[Call]:
    """Every `load_model(...)` call (`keras.models.load_model`, `keras.saving.load_model`...)."""
    return (call for call in module.calls if call.callee in LOAD_MODEL)


# ---- where Keras and TF write ------------------------------------------------------------------------
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
_JOINS = frozenset({"os.path.join", "posixpath.join", "tf.io.gfile.join"})
_WRAPPERS = frozenset({"str", "pathlib.Path", "os.fspath", "os.path.abspath", "os.path.expanduser"})
_LATEST = frozenset({"tf.train.latest_checkpoint", "tf.compat.v1.train.latest_checkpoint"})
UNKNOWN = "\x03"  # a run-time part of a file name (`f"ckpt-{step:06d}.weights.h5"`)


def path_text(module: ModuleModel, expr: cst.BaseExpression | None, scope: Scope, depth: int = 0) -> str | None:
    """A path expression as comparable text: literals as they are, a parameter as `<p:name>` (so
    `save(self, directory)` and `restore(self, directory)` compare equal), a name bound once as its
    value (or, when that value is only known at run time, as the binding itself: `<b:name>`), `args.dir`
    as `<d:args.dir>`, `os.path.join`/`/`/`+`/f-strings/`os.path.dirname` applied, and a run-time part of
    a file name as UNKNOWN. None when the shape is not understood."""
    if expr is None or depth > 8:
        return None
    value = module.string_value(expr, scope)
    if value is not None:
        return value
    if isinstance(expr, (cst.Name, cst.Attribute)):
        key = module.key_of(expr, scope)
        binding = module.bindings.get(key) if key is not None else None
        if binding is not None:
            if binding.is_parameter and len(binding.assignments) == 1:
                return f"\x02p:{binding.name}\x02"
            if len(binding.assignments) == 1 and binding.assignments[0].value is not None:
                assignment = binding.assignments[0]
                text = path_text(module, assignment.value, assignment.scope, depth + 1)
                if text is not None and UNKNOWN in text:
                    # a run-time value (`os.path.join("runs", f"{trial}")`) bound once: the binding itself
                    # is the identity, so two uses of the same name are the same path
                    return f"\x02b:{binding.name}@{id(binding.scope)}\x02"
                return text
            return None
        dotted = _dotted(expr)
        return f"\x02d:{dotted}\x02" if dotted and "." in dotted else None
    if isinstance(expr, cst.FormattedString):
        parts = []
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            else:
                assert isinstance(part, cst.FormattedStringExpression)  # an f-string's only other part
                inner = path_text(module, part.expression, scope, depth + 1) if part.format_spec is None else None
                parts.append(inner if inner is not None else UNKNOWN)
        return "".join(parts)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Add, cst.Divide)):
        left = path_text(module, expr.left, scope, depth + 1)
        right = path_text(module, expr.right, scope, depth + 1)
        if left is None or right is None:
            return None
        return left + right if isinstance(expr.operator, cst.Add) else posixpath.join(left, right)
    if isinstance(expr, cst.Call) and not any(arg.star or arg.keyword for arg in expr.args) and expr.args:
        callee = module.qualify(expr.func)
        texts = [path_text(module, arg.value, scope, depth + 1) for arg in expr.args]
        known = [text for text in texts if text is not None]
        if callee in _JOINS and len(known) == len(texts):
            return posixpath.join(*known)
        if callee == "os.path.dirname" and len(texts) == 1 and texts[0] is not None:
            return posixpath.dirname(texts[0].rstrip("/"))
        if (callee in _WRAPPERS or (isinstance(expr.func, cst.Name) and expr.func.value == "str")) and len(texts) == 1:
            return texts[0]
        if isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "format":
            template = path_text(module, expr.func.value, scope, depth + 1)
            return template  # the braces stay: only the directory part is compared
    return None


def _dotted(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        inner = _dotted(expr.value)
        return f"{inner}.{expr.attr.value}" if inner else None
    return None


def as_glob(filename: str) -> str:
    """A file name's text as a glob: run-time parts and `{epoch:04d}` placeholders become `*`."""
    text = re.sub("\x02[^\x02]*\x02", "*", filename).replace(UNKNOWN, "*")
    return re.sub(r"\{[^{}]*\}", "*", text)


def directory_of(path: str) -> str | None:
    """The directory part of a path text; None when it holds a run-time part."""
    directory = posixpath.normpath(posixpath.dirname(path)) if "/" in path else "."
    return None if UNKNOWN in directory else directory


def as_directory(path: str | None) -> str | None:
    if path is None or UNKNOWN in path:
        return None
    return posixpath.normpath(path) if path.strip() else None


@dataclass(frozen=True)
class KerasWrite:
    call: Call
    directory: str  # path text of the directory the file goes to
    filename: str


def keras_file_writes(module: ModuleModel) -> list[KerasWrite]:
    """Files Keras writes in its own formats, which come with no TF `checkpoint` state file:
    `ModelCheckpoint(".../x.weights.h5" or ".keras")`, `model.save(".../x.keras")`,
    `model.save_weights(".../x.weights.h5")`, `save_model(m, ".../x.keras")`."""
    result: list[KerasWrite] = []
    for call in module.calls:
        if call.callee == MODEL_CHECKPOINT:
            expr = call.arg(0, "filepath")
        elif call.callee in SAVE_MODEL:
            expr = call.arg(1, "filepath")
        elif call.method in ("save", "save_weights") and call.receiver_expr is not None and call.callee is None:
            expr = call.arg(0, "filepath")
        else:
            continue
        text = path_text(module, expr, call.scope)
        if text is None or not text.lower().endswith(KERAS_SUFFIXES):
            continue
        directory = directory_of(text)
        if directory is not None:
            result.append(KerasWrite(call, directory, posixpath.basename(text)))
    return result


def tf_checkpoint_directories(module: ModuleModel) -> set[str]:
    """Directories TF's own checkpointing writes a `checkpoint` state file into, so that
    `latest_checkpoint` finds something there: the directory of a `CheckpointManager` that saves, of a
    `Checkpoint.save(prefix)`, of a TF-format `save_weights(prefix)` (Keras 2), of a TF1 `Saver.save`."""
    result: set[str] = set()
    saving_managers = {call.receiver for call in module.method_calls(("save",)) if call.receiver is not None}
    for manager in module.managers:
        if any(key in saving_managers for key in manager.keys) or not manager.keys:
            directory = as_directory(path_text(module, manager.call.arg(1, "directory"), manager.call.scope))
            if directory is not None:
                result.add(directory)
    for call in module.calls:
        if call.method not in ("save", "write", "save_weights") or call.callee is not None:
            continue
        if call.method == "save" and call.positional(1) is not None:  # Saver.save(sess, prefix)
            expr = call.arg(1, "save_path")
        elif call.method == "save_weights":
            expr = call.arg(0, "filepath")
        else:
            expr = call.arg(0, "file_prefix")
        text = path_text(module, expr, call.scope)
        if text is None or text.lower().endswith(KERAS_SUFFIXES):
            continue
        directory = as_directory(text) if text.endswith("/") else directory_of(text)
        if directory is not None:
            result.add(directory)
    return result


def latest_checkpoint_calls(module: ModuleModel) -> Iterator[Call]:
    return (call for call in module.calls if call.callee in _LATEST)


# ---- guards and names ---------------------------------------------------------------------------------
def guarding_tests(module: ModuleModel, call: Call, depth: int = 2) -> list[cst.BaseExpression]:
    """The tests of the `if`/`while` statements and conditional expressions `call` runs under, plus
    early exits (`if not chief: return`) before it in its function, plus the same for each call site of
    its function in this module (`if is_chief: save()`)."""
    tests = list(_enclosing_tests(module, call.node))
    function = call.function
    if function is not None and isinstance(function.node, cst.FunctionDef):
        tests += _early_exit_tests(function.node, call.node)
        if depth > 0:
            for caller in module.callers(function):
                tests += guarding_tests(module, caller, depth - 1)
    return tests


def _enclosing_tests(module: ModuleModel, node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    path = [*reversed(module.enclosing(node)), node]
    for parent, child in zip(path, path[1:] + [node]):
        if isinstance(parent, (cst.If, cst.While)) and child is not parent.test:
            yield parent.test
        elif isinstance(parent, cst.IfExp) and child is not parent.test:
            yield parent.test
        elif isinstance(parent, cst.BooleanOperation) and child is parent.right:
            yield parent.left  # `is_chief and manager.save()`


def _early_exit_tests(function: cst.FunctionDef, node: cst.CSTNode) -> list[cst.BaseExpression]:
    """Tests of `if ...: return` statements that come before `node` in the function's own body."""
    tests: list[cst.BaseExpression] = []
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else []
    inside = {id(n) for n in subtree(node)}
    for statement in body:
        if any(id(n) in inside for n in subtree(statement)):
            break
        if isinstance(statement, cst.If) and _exits(statement.body):
            tests.append(statement.test)
    return tests


def _exits(block: cst.BaseSuite) -> bool:
    statements = block.body if isinstance(block, (cst.IndentedBlock, cst.SimpleStatementSuite)) else []
    for statement in statements:
        smalls = statement.body if isinstance(statement, cst.SimpleStatementLine) else [statement]
        if any(isinstance(small, (cst.Return, cst.Continue, cst.Break, cst.Raise)) for small in smalls):
            return True
    return False


def mentioned_names(module: ModuleModel, expr: cst.CSTNode, scope: Scope, depth: int = 2) -> set[str]:
    """Identifiers an expression reads (names, attribute names, called function names), lower-cased,
    following names bound once in this module and the return values of functions defined here, one or
    two levels deep (`path = write_path(d, task_id)`)."""
    names: set[str] = set()
    for node in subtree(expr):
        if isinstance(node, cst.Call) and depth > 0:  # a helper defined here: what it returns
            call = module.builder.calls_by_node.get(id(node))
            target = module.local_function(call) if call is not None else None
            if target is not None:
                for returned in module.builder.returns.get(id(target), []):
                    names |= mentioned_names(module, returned, target, depth - 1)
        if isinstance(node, cst.Name):
            names.add(node.value.lower())
            if depth > 0:
                key = module.key_of(node, scope)
                binding = module.bindings.get(key) if key is not None else None
                if binding is not None and len(binding.assignments) == 1 and binding.assignments[0].value is not None \
                        and binding.assignments[0].value is not expr:
                    assignment = binding.assignments[0]
                    assert assignment.value is not None  # tested just above
                    names |= mentioned_names(module, assignment.value, assignment.scope, depth - 1)
        elif isinstance(node, cst.Attribute):
            names.add(node.attr.value.lower())
            key = module.key_of(node, scope)
            binding = module.bindings.get(key) if key is not None else None
            if depth > 0 and binding is not None and len(binding.assignments) == 1 \
                    and binding.assignments[0].value is not None:
                assignment = binding.assignments[0]
                assert assignment.value is not None  # tested just above
                names |= mentioned_names(module, assignment.value, assignment.scope, depth - 1)
    return names
