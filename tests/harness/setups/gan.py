"""A small GAN: generator with BatchNorm, discriminator, two Adam optimizers, one custom train step."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup


class GAN(tf.Module):
    """Holds both networks, so `Setup.model` is one trackable with every variable."""

    def __init__(self) -> None:
        super().__init__()
        self.generator = keras.Sequential([
            keras.Input((3,)), keras.layers.Dense(8), keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"), keras.layers.Dense(2),
        ])
        self.discriminator = keras.Sequential([
            keras.Input((2,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1),
        ])


def _setup(save_discriminator_optimizer: bool) -> Setup:
    gan = GAN()
    g_opt, d_opt = keras.optimizers.Adam(0.01), keras.optimizers.Adam(0.02)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    real = np.random.default_rng(1).normal(loc=2.0, size=(64, 2)).astype("float32")
    noise = np.random.default_rng(2).normal(size=(64, 3)).astype("float32")

    def batch(step: int):
        i = (step * 8) % 64
        return real[i:i + 8], noise[i:i + 8]

    def train_step(data):
        x, z = data
        with tf.GradientTape() as d_tape:
            fake = gan.generator(z, training=True)
            d_loss = bce(tf.ones((8, 1)), gan.discriminator(x)) + bce(tf.zeros((8, 1)), gan.discriminator(fake))
        grads = d_tape.gradient(d_loss, gan.discriminator.trainable_variables)
        d_opt.apply_gradients(zip(grads, gan.discriminator.trainable_variables))
        with tf.GradientTape() as g_tape:
            g_loss = bce(tf.ones((8, 1)), gan.discriminator(gan.generator(z, training=True)))
        grads = g_tape.gradient(g_loss, gan.generator.trainable_variables)
        g_opt.apply_gradients(zip(grads, gan.generator.trainable_variables))
        return d_loss, g_loss

    objects = {"generator": gan.generator, "discriminator": gan.discriminator, "g_opt": g_opt}
    if save_discriminator_optimizer:
        objects["d_opt"] = d_opt
    ckpt = tf.train.Checkpoint(**objects)
    return Setup(
        model=gan, optimizers={"generator": g_opt, "discriminator": d_opt}, train_step=train_step, batch=batch,
        save=lambda d: ckpt.save(f"{d}/ckpt"), restore=lambda d: ckpt.restore(tf.train.latest_checkpoint(d)),
    )


def make_gan() -> Setup:
    return _setup(save_discriminator_optimizer=True)


def make_gan_forgets_d_opt() -> Setup:
    """Buggy: the discriminator's optimizer is not in the checkpoint."""
    return _setup(save_discriminator_optimizer=False)
