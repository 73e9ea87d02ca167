"""CKPT204 optimizer-discarded-after-load."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.model import ModuleModel
from ckptlint.model.loading import exclusive, is_false, keeps_model_optimizer, loaded_models, resume_evidence, trained_later
from ckptlint.lint.rule import Diagnostic, Invalid, Rule
from ckptlint.model.keras_usage import is_keras_compile_call


class OptimizerDiscardedAfterLoad(Rule):
    """
    ## What it does
    Finds a model restored with `load_model(...)` to resume training that is then `compile()`d with a new
    optimizer (`'adam'`, `Adam(...)`, a separately built optimizer) or with no optimizer at all, and
    trained; and `load_model(..., compile=False)` followed by `compile()` and training. The rule fires only
    when the load is a resume of this script's own training: the script also saves the model to that
    path (`model.save`, `ModelCheckpoint`), or training continues with `initial_epoch=`. Loading a
    pretrained model and compiling a fresh optimizer to fine-tune it is not a finding.

    ## Why is this bad?
    `load_model` restores the optimizer the model was saved with — Adam's moments, `iterations`, the
    learning-rate schedule's position. `compile()` replaces it. Measured on TF 2.21 + Keras 3.15
    (`docs/framework.md#compiling-after-load_model`): after `compile(optimizer=Adam())` or
    `compile(optimizer='adam')` the restored optimizer is gone and `iterations` is 0; `compile(loss=...)`
    without an optimizer silently swaps in a fresh RMSprop. The resumed run trains with a cold optimizer
    and a restarted schedule, with no error (keras-team/keras#10806, keras-team/keras#2378).
    `compile(optimizer=model.optimizer, ...)` keeps the restored optimizer and is not flagged.

    ## Use instead
    ```python
    model = keras.models.load_model("ckpt/model.keras")   # already compiled, optimizer restored
    model.fit(x, y, initial_epoch=10, epochs=20)
    # to change the loss or metrics, keep the optimizer:
    model.compile(optimizer=model.optimizer, loss=new_loss)
    ```

    ## References
    - `docs/framework.md#compiling-after-load_model`, `docs/framework.md#keras-files`
    - keras-team/keras#10806, keras-team/keras#2378
    """

    code = "CKPT204"
    name = "optimizer-discarded-after-load"
    severity = Severity.ERROR
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    keras = 3  # Keras 2 code is left alone: the measured behaviour is Keras 3's
    summary = "A model loaded to resume training is recompiled with a new optimizer, discarding the restored one."
    api_words = ("load_model",)

    VALID = [
        # A helper that builds a fresh model only: nothing is discarded.
        """
import keras
def build():
    return keras.Sequential([keras.layers.Dense(1)])
model = build()
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
model.fit(x, y, callbacks=[keras.callbacks.ModelCheckpoint("run.keras")])
""",
        # Keeps the restored optimizer.
        """
import keras
model = keras.models.load_model("ckpt/model.keras")
model.compile(optimizer=model.optimizer, loss="mae")
model.fit(x, y, initial_epoch=5, epochs=10)
model.save("ckpt/model.keras")
""",
        # Fine-tuning a pretrained model with a fresh optimizer (not a resume of this script).
        """
import keras
base = keras.models.load_model("pretrained/encoder.keras")
base.compile(optimizer=keras.optimizers.Adam(1e-5), loss="mse")
base.fit(x, y, epochs=3)
base.save("finetuned.keras")
""",
        # The fresh compile is on the other branch: only a new model is compiled.
        """
import os
import keras
PATH = "run/model.keras"
if os.path.exists(PATH):
    model = keras.models.load_model(PATH)
else:
    model = build_model()
    model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=10, callbacks=[keras.callbacks.ModelCheckpoint(PATH)])
""",
        # Loaded for evaluation only.
        """
import keras
model = keras.models.load_model("run/model.keras", compile=False)
model.compile(loss="mse")
print(model.evaluate(x, y))
model.save("run/model.keras")
""",
        # A custom compile() signature: the loaded model had no optimizer to discard (CKPT208).
        """
import keras
gan = keras.models.load_model("run/gan.keras")
gan.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam(), loss_fn=loss)
gan.fit(ds, epochs=10, callbacks=[keras.callbacks.ModelCheckpoint("run/gan.keras")])
""",
    ]
    INVALID = [
        Invalid(
            """
import os
import keras
PATH = "run/model.keras"
model = keras.models.load_model(PATH) if os.path.exists(PATH) else build_model()
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=10, callbacks=[keras.callbacks.ModelCheckpoint(PATH)])
""",
            lines=(6,),
        ),
        Invalid(
            """
import tensorflow as tf
def resume(path, epoch):
    model = tf.keras.models.load_model(path, compile=False)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(x, y, initial_epoch=epoch, epochs=epoch + 5)
""",
            lines=(5,),
        ),
        # No optimizer: Keras compiles a fresh RMSprop.
        Invalid(
            """
import os
import keras
def restore(directory):
    model = keras.models.load_model(os.path.join(directory, "model.keras"))
    model.compile(loss="mse")
    return model
def save(model, directory):
    model.save(os.path.join(directory, "model.keras"))
def main(directory):
    model = restore(directory)
    model.fit(x, y)
    save(model, directory)
""",
            lines=(6,),
        ),
        # The load is in a helper that returns the interrupted run's model or a fresh one.
        Invalid(
            """
import os
import keras
CHECKPOINT = "run.keras"
def load_or_build():
    if os.path.exists(CHECKPOINT):
        return keras.models.load_model(CHECKPOINT)
    return keras.Sequential([keras.layers.Dense(1)])
model = load_or_build()
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
model.fit(x, y, callbacks=[keras.callbacks.ModelCheckpoint(CHECKPOINT)])
""",
            lines=(10,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        for loaded in loaded_models(module):
            load, at = loaded.call, loaded.at
            compile_false = is_false(load.arg(2, "compile"))
            for call in module.compiles_of(loaded.key):
                if call.order <= at.order or exclusive(module, at.node, call.node):
                    continue
                if not is_keras_compile_call(call):
                    continue  # a custom compile(): CKPT208 says what really happens
                optimizer = call.arg(0, "optimizer")
                if keeps_model_optimizer(module, optimizer, loaded.key, call.scope) and not compile_false:
                    continue
                if not trained_later(module, loaded.key, call.order, call.scope):
                    continue
                evidence = resume_evidence(module, load, loaded.key, load.arg(0, "filepath"), at.order)
                if evidence is None:
                    continue
                yield Diagnostic(call.node, _message(optimizer, compile_false, evidence),
                                 related=[(load.node, "the model and its optimizer are restored here")])
                break


def _message(optimizer: cst.BaseExpression | None, compile_false: bool, evidence: str) -> str:
    if compile_false:
        what = ("`load_model(..., compile=False)` drops the saved optimizer and this `compile()` starts a new one")
    elif optimizer is None:
        what = "`compile()` without `optimizer=` replaces the restored optimizer with a fresh RMSprop"
    else:
        what = "`compile()` with a new optimizer replaces the one `load_model` restored"
    return (f"{what}: the resumed training restarts Adam's moments, `iterations` and the learning-rate "
            f"schedule ({evidence}, so this is a resume); drop the `compile()` or pass "
            f"`optimizer=model.optimizer`")
