"""A two-optimizer Keras model (GAN-style: each sub-network has its own optimizer and learning rate),
trained with `fit`, saved as a `.keras` file every epoch and resumed from it after a restart.

Run: python train.py --epochs 20 --checkpoint-dir runs/exp1
"""

import argparse
import os

import keras
import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup

CHECKPOINT_DIR = "runs/two_optimizers"
MODEL_FILE = "model.keras"


@keras.saving.register_keras_serializable(package="sample")
class TwoSpeedRegressor(keras.Model):
    """An encoder and a head trained by separate optimizers."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu")])
        self.head = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])

    def call(self, x):
        return self.head(self.encoder(x))

    def compile(self, encoder_optimizer, head_optimizer, **kwargs):
        super().compile(**kwargs)
        self.encoder_optimizer = encoder_optimizer
        self.head_optimizer = head_optimizer

    def get_compile_config(self):
        # What load_model needs to compile the model again with the same optimizers.
        return {"encoder_optimizer": keras.saving.serialize_keras_object(self.encoder_optimizer),
                "head_optimizer": keras.saving.serialize_keras_object(self.head_optimizer)}

    def compile_from_config(self, config):
        self.compile(encoder_optimizer=keras.saving.deserialize_keras_object(config["encoder_optimizer"]),
                     head_optimizer=keras.saving.deserialize_keras_object(config["head_optimizer"]))
        # Built now, the optimizers take the state stored in the file; unbuilt, Keras would skip it.
        self.encoder_optimizer.build(self.encoder.trainable_variables)
        self.head_optimizer.build(self.head.trainable_variables)

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape(persistent=True) as tape:
            loss = tf.reduce_mean(tf.square(self(x, training=True) - y))
        for optimizer, part in ((self.encoder_optimizer, self.encoder), (self.head_optimizer, self.head)):
            grads = tape.gradient(loss, part.trainable_variables)
            optimizer.apply_gradients(zip(grads, part.trainable_variables))
        return {"loss": loss}


def compile_model(model):
    model.compile(encoder_optimizer=keras.optimizers.Adam(1e-2), head_optimizer=keras.optimizers.Adam(3e-2))


def build_model():
    model = TwoSpeedRegressor()
    model(np.zeros((1, 4), "float32"))
    compile_model(model)
    return model


def make_batch(step):
    rng = np.random.default_rng(step)
    x = rng.normal(size=(16, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def save(model, directory):
    os.makedirs(directory, exist_ok=True)
    model.save(os.path.join(directory, MODEL_FILE))


def restore(directory):
    model = keras.models.load_model(os.path.join(directory, MODEL_FILE))  # compiled, optimizers restored
    return make_setup(model)


def make_setup(model=None):
    model = model if model is not None else build_model()
    return Setup(model=model, optimizers={"encoder": model.encoder_optimizer, "head": model.head_optimizer},
                 batch=make_batch, save=lambda directory: save(model, directory), restore=restore)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--checkpoint-dir", default=CHECKPOINT_DIR)
    args = parser.parse_args()
    if os.path.exists(os.path.join(args.checkpoint_dir, MODEL_FILE)):
        model = restore(args.checkpoint_dir).model
    else:
        model = build_model()
    for epoch in range(int(model.head_optimizer.iterations.numpy()), args.epochs):
        x, y = make_batch(epoch)
        model.fit(x, y, epochs=1, verbose=0)
        save(model, args.checkpoint_dir)


if __name__ == "__main__":
    main()
