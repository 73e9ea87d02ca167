"""The TensorFlow DCGAN tutorial (tensorflow/docs site/en/tutorials/generative/dcgan.ipynb), shrunk: a
generator with BatchNormalization and LeakyReLU, a discriminator with Dropout, two Adam optimizers, the
tutorial's checkpoint `tf.train.Checkpoint(generator_optimizer=, discriminator_optimizer=, generator=,
discriminator=)`, and its `@tf.function train_step`, which draws `noise = tf.random.normal([BATCH_SIZE,
noise_dim])`.

Every weight and slot is restored, yet the resumed run diverges: the Dropout masks come from Keras seed
generators that no checkpoint of the tutorial holds, and `tf.random.normal` in a tf.function keeps its
position inside the op kernel, which no checkpoint can hold at all. The harness must name both.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup

BATCH_SIZE, NOISE_DIM = 8, 4


def make_generator_model():
    return keras.Sequential([
        keras.Input((NOISE_DIM,)), keras.layers.Dense(8, use_bias=False), keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(), keras.layers.Dense(6, activation="tanh"),
    ])


def make_discriminator_model():
    return keras.Sequential([
        keras.Input((6,)), keras.layers.Dense(8), keras.layers.LeakyReLU(), keras.layers.Dropout(0.3),
        keras.layers.Dense(1),
    ])


def make_setup() -> Setup:
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    generator, discriminator = make_generator_model(), make_discriminator_model()
    generator_optimizer, discriminator_optimizer = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)
    checkpoint = tf.train.Checkpoint(generator_optimizer=generator_optimizer,
                                     discriminator_optimizer=discriminator_optimizer,
                                     generator=generator, discriminator=discriminator)
    images = np.random.default_rng(0).uniform(-1, 1, size=(64, 6)).astype("float32")

    @tf.function
    def train_step(images):
        noise = tf.random.normal([BATCH_SIZE, NOISE_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                         + cross_entropy(tf.zeros_like(fake_output), fake_output))
        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gradients_of_generator, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(gradients_of_discriminator, discriminator.trainable_variables))
        return gen_loss, disc_loss

    return Setup(
        model={"generator": generator, "discriminator": discriminator},
        optimizers={"generator": generator_optimizer, "discriminator": discriminator_optimizer},
        train_step=train_step, batch=lambda step: images[(step * BATCH_SIZE) % 64:][:BATCH_SIZE],
        save=lambda directory: checkpoint.save(f"{directory}/ckpt"),
        restore=lambda directory: checkpoint.restore(tf.train.latest_checkpoint(directory)),
    )
