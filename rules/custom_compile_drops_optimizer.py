"""CKPT208 custom-compile-drops-optimizer."""

from __future__ import annotations

from typing import Iterator

from ckptlint.lint.findings import Severity
from ckptlint.lint.rule import Diagnostic, Invalid, Rule
from ckptlint.model import ModuleModel
from ckptlint.model.loading import module_trains
from ckptlint.model.paths import file_kind
from ckptlint.model.keras_usage import custom_compile_classes, loaded_model_calls, mentioned_names
from ckptlint.model.restores import in_test_case


class CustomCompileDropsOptimizer(Rule):
    """
    ## What it does
    Finds `load_model(...)` in a module that trains and that defines a `keras.Model` subclass
    overriding `compile()` (GANs and other models with several optimizers) without overriding
    `compile_from_config()`, itself or in a base class defined in the module.

    ## Why is this bad?
    A `.keras` file holds the model's optimizers and their state: `model.save` writes the variables of
    every optimizer the model tracks (`g_optimizer`, `d_optimizer`...). But `load_model` compiles the
    loaded model through `Model.compile_from_config`, and Keras' own version of it gives up for any
    class whose `compile` is overridden: it warns ("`compile()` was not called as part of model loading
    because the model's `compile()` method is custom") and returns. The loaded model has no `optimizer`
    attribute and none of its custom ones; the optimizer state in the file is never read. To train
    again, the code has to call its own `compile()`, which creates fresh optimizers: Adam's moments are
    zero and `iterations` starts at 0, so learning-rate schedules restart.

    Measured on TF 2.21 + Keras 3.15: a model with `compile(self, g_opt, d_opt)` trained 8 steps,
    saved and loaded has no `optimizer` and no `g_opt`; compiled again and trained 4 steps, its
    optimizers report 4 iterations, not 12. `ckptlint verify` on the `custom_compile_load` sample
    project: both optimizers lose their slots and iterations. With `get_compile_config` and
    `compile_from_config` (building the optimizers there: an unbuilt optimizer skips the stored
    variables with a "Skipping variable loading" warning), the fixed twin resumes exactly.

    A module that loads a model only to predict (it never trains), a load of a legacy `.h5` file, and
    a class whose base ckptlint cannot see are not flagged.

    ## Use instead
    ```python
    class GAN(keras.Model):
        def compile(self, g_optimizer, d_optimizer, **kwargs):
            super().compile(**kwargs)
            self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer

        def get_compile_config(self):
            return {"g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
                    "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer)}

        def compile_from_config(self, config):
            self.compile(g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
                         d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]))
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.discriminator.trainable_variables)
    ```
    or checkpoint the training state with `tf.train.Checkpoint(model=gan, g_optimizer=...,
    d_optimizer=...)`.

    ## Fix safety
    No autofix: `compile_from_config` has to rebuild the class's own optimizers from its own
    `compile()` signature, which only the author knows.

    ## References
    - Keras source: `Trainer.compile_from_config` (keras/src/trainers/trainer.py)
    - https://keras.io/guides/serialization_and_saving/ (`get_compile_config`, `compile_from_config`)
    - `docs/framework.md#custom-compile` (custom compile)
    """

    code = "CKPT208"
    name = "custom-compile-drops-optimizer"
    severity = Severity.ERROR
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    keras = 3  # Keras 2 code is left alone: the measured behaviour is Keras 3's
    summary = "load_model of a model whose compile() is custom skips compiling: the saved optimizer state is dropped."
    api_words = (("load_model", "def compile"),)

    VALID = [
        # compile() override with compile_from_config: load_model compiles it.
        """
import keras
class GAN(keras.Model):
    def compile(self, g_optimizer, d_optimizer):
        super().compile()
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
    def get_compile_config(self):
        return {"g": keras.saving.serialize_keras_object(self.g_optimizer),
                "d": keras.saving.serialize_keras_object(self.d_optimizer)}
    def compile_from_config(self, config):
        self.compile(keras.saving.deserialize_keras_object(config["g"]),
                     keras.saving.deserialize_keras_object(config["d"]))
gan = keras.models.load_model("gan.keras")
gan.fit(ds, epochs=10)
""",
        # Loaded only to generate samples: no training, no optimizer needed.
        """
import keras
class GAN(keras.Model):
    def compile(self, g_optimizer, d_optimizer):
        super().compile()
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
gan = keras.models.load_model("gan.keras")
images = gan.generator.predict(noise)
""",
        # Checkpointed with tf.train.Checkpoint, never loaded with load_model.
        """
import keras
import tensorflow as tf
class GAN(keras.Model):
    def compile(self, g_optimizer, d_optimizer):
        super().compile()
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
gan = GAN()
gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
ckpt = tf.train.Checkpoint(gan=gan, g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer)
ckpt.restore(tf.train.latest_checkpoint("ckpt"))
gan.fit(ds, epochs=10)
ckpt.save("ckpt/gan")
""",
        # A plain Keras model (Keras compiles it on load).
        """
import keras
model = keras.models.load_model("model.keras")
model.fit(x, y, initial_epoch=5, epochs=10)
""",
        # A base class ckptlint cannot see may define compile_from_config.
        """
import keras
from mylib.models import BaseGAN
class GAN(BaseGAN):
    def compile(self, g_optimizer, d_optimizer):
        super().compile(g_optimizer, d_optimizer)
gan = keras.models.load_model("gan.keras")
gan.fit(ds)
""",
        # A class that is not a Keras model.
        """
import keras
class Pipeline:
    def compile(self, steps):
        self.steps = steps
model = keras.models.load_model("model.keras")
model.fit(x, y)
""",
        # A legacy .h5 file (another rule's business: CKPT206).
        """
import keras
class GAN(keras.Model):
    def compile(self, g_optimizer, d_optimizer):
        super().compile()
model = keras.models.load_model("gan.h5", compile=False)
model.fit(x, y)
""",
    ]
    INVALID = [
        Invalid(
            """
import keras
class GAN(keras.Model):
    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
gan = keras.models.load_model("checkpoints/gan.keras")
gan.compile(d_optimizer=keras.optimizers.Adam(3e-4), g_optimizer=keras.optimizers.Adam(3e-4),
            loss_fn=keras.losses.BinaryCrossentropy())
gan.fit(dataset, epochs=20, callbacks=[keras.callbacks.ModelCheckpoint("checkpoints/gan.keras")])
""",
            lines=(9,),
            message="compile_from_config",
        ),
        # get_compile_config alone is not enough: Keras still refuses to compile on load.
        Invalid(
            """
import tensorflow as tf
class Base(tf.keras.Model):
    def compile(self, optimizers, **kwargs):
        super().compile(**kwargs)
        self.optimizers = optimizers
    def get_compile_config(self):
        return {"optimizers": [tf.keras.optimizers.serialize(o) for o in self.optimizers]}
class Translator(Base):
    pass
def resume(path):
    model = tf.keras.models.load_model(path, custom_objects={"Translator": Translator})
    model.compile([tf.keras.optimizers.Adam(), tf.keras.optimizers.Adam()])
    model.fit(pairs, epochs=5)
""",
            lines=(12,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        if not module_trains(module):
            return
        classes = custom_compile_classes(module)
        if not classes:
            return
        for load in loaded_model_calls(module):
            if in_test_case(load.scope) or file_kind(module, load.arg(0, "filepath"), load.scope) == "h5":
                continue
            candidates = classes
            custom_objects = load.kwarg("custom_objects")
            if custom_objects is not None:
                named = mentioned_names(module, custom_objects, load.scope, depth=1)
                candidates = [c for c in classes if c.cls.name.lower() in named]
                if not candidates:
                    continue
            names = ", ".join(f"`{c.cls.name}`" for c in candidates)
            yield Diagnostic(
                load.node,
                f"`load_model` does not compile {names}: its `compile()` is custom and it has no "
                f"`compile_from_config()`, so the optimizer state saved in the file is dropped and the "
                f"`compile()` needed to train again starts fresh optimizers (iterations 0); implement "
                f"`get_compile_config`/`compile_from_config`",
                related=[(c.compile_def.name, f"`{c.cls.name}.compile` is overridden here") for c in candidates],
            )
