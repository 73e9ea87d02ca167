"""CKPT206 legacy-h5-resume."""

from __future__ import annotations

from typing import Iterator

from ckptlint.lint.findings import Severity
from ckptlint.model import ModuleModel
from ckptlint.model.paths import file_kind
from ckptlint.model.loading import is_false, loaded_models, resume_evidence, trained_later
from ckptlint.lint.rule import Diagnostic, Invalid, Rule


class LegacyH5Resume(Rule):
    """
    ## What it does
    Finds training resumed from a legacy HDF5 model file (`load_model("....h5")` or `.hdf5`, not
    `.weights.h5`) under Keras 3: the loaded model is then trained. With `compile=False` it fires only
    when the load is a resume of this script's own training (the script also writes that file, or
    continues with `initial_epoch=`). Modules that import `tf_keras` (Keras 2) are not checked.

    ## Why is this bad?
    Keras 3 reads legacy `.h5` files for compatibility, not for resuming. Measured on TF 2.21 + Keras 3.15
    (`docs/framework.md#legacy-h5-files`): the weights load with `compile=False`, but loading a compiled model fails
    (`ValueError: Could not deserialize 'keras.metrics.mse' because it is not a KerasSaveable subclass`
    for a `loss="mse"` model) or its optimizer cannot step; with `compile=False` the optimizer is not
    restored at all, so moments, `iterations` and the learning-rate schedule restart. Keras 3 supports
    only `.keras` and `.weights.h5` as its own formats (keras-team/keras#18709,
    tensorflow/tensorflow#74342).

    ## Use instead
    ```python
    model.save("checkpoints/model.keras")          # when saving
    model = keras.models.load_model("checkpoints/model.keras")
    model.fit(x, y, initial_epoch=5, epochs=10)
    ```

    ## References
    - `docs/framework.md#legacy-h5-files`
    - keras-team/keras#18709, tensorflow/tensorflow#74342
    """

    code = "CKPT206"
    name = "legacy-h5-resume"
    severity = Severity.WARNING
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    keras = 3  # Keras 2 code is left alone: the measured behaviour is Keras 3's
    summary = "Training resumes from a legacy .h5 model file, which Keras 3 cannot resume from."
    api_words = ("load_model",)

    VALID = [
        # The native format.
        """
import keras
model = keras.models.load_model("run/model.keras")
model.fit(x, y, initial_epoch=5, epochs=10)
model.save("run/model.keras")
""",
        # A legacy .h5 loaded for inference only.
        """
import keras
model = keras.models.load_model("old/model.h5", compile=False)
print(model.predict(x))
""",
        # Fine-tuning from old pretrained .h5 weights with a fresh optimizer (not a resume).
        """
import keras
base = keras.models.load_model("pretrained/vgg.h5", compile=False)
base.compile(optimizer="adam", loss="mse")
base.fit(x, y, epochs=2)
base.save("finetuned.keras")
""",
        # Keras 2 code.
        """
import tf_keras
model = tf_keras.models.load_model("run/model.h5")
model.fit(x, y, initial_epoch=5, epochs=10)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
model = tf.keras.models.load_model("checkpoints/model.h5")
model.fit(x, y, initial_epoch=5, epochs=10)
""",
            lines=(3,),
        ),
        Invalid(
            """
import os
import keras
CKPT = os.path.join("runs", "best.hdf5")
def resume():
    model = keras.models.load_model(CKPT, compile=False)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=10, callbacks=[keras.callbacks.ModelCheckpoint(CKPT)])
""",
            lines=(6,),
        ),
        # A trainer class: the training method is written above the method that loads.
        Invalid(
            """
import keras
class Trainable:
    def step(self):
        self.model.fit(self.x, self.y, epochs=1)
    def load_checkpoint(self, path):
        self.model = keras.models.load_model(path + "/model.h5")
""",
            lines=(7,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        for loaded in loaded_models(module):
            load = loaded.call
            path = load.arg(0, "filepath")
            if file_kind(module, path, load.scope) != "h5":
                continue
            if not trained_later(module, loaded.key, loaded.at.order, loaded.at.scope):
                continue
            if is_false(load.arg(2, "compile")):
                evidence = resume_evidence(module, load, loaded.key, path, loaded.at.order)
                if evidence is None:
                    continue
                message = (f"training resumes from a legacy `.h5` model loaded with `compile=False` ({evidence}): "
                           "the optimizer is not restored, so moments, `iterations` and the learning-rate schedule "
                           "restart; save and load `.keras` instead")
            else:
                message = ("training resumes from a legacy `.h5` model: under Keras 3 loading a compiled `.h5` fails "
                           "or its optimizer cannot step; save and load `.keras` instead")
            yield Diagnostic(load.node, message)
