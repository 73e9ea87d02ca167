"""The DCGAN tutorial of TensorFlow: two models, two optimizers, one tf.train.Checkpoint.

Source: https://www.tensorflow.org/tutorials/generative/dcgan (tensorflow/docs
site/en/tutorials/generative/dcgan.ipynb). Re-written here, not copied: the same structure -- a
generator (Dense, BatchNorm, LeakyReLU, Conv2DTranspose stack) and a discriminator (Conv2D, LeakyReLU,
Dropout), two Adam(1e-4), `tf.train.Checkpoint(generator_optimizer, discriminator_optimizer,
generator, discriminator)` saved every 15 epochs with `checkpoint.save(prefix)`, a `tf.function` step
drawing its noise with `tf.random.normal`, and the restore of the latest checkpoint after training.
Shrunk: 8x8 random images instead of MNIST 28x28 (no download), 64 images, batch 16, 4 epochs, a save
every 2 epochs, narrower layers; the checkpoint directory is the first argument.
"""

import os
import sys

import numpy as np
import tensorflow as tf
from tensorflow.keras import layers

checkpoint_dir = sys.argv[1]
train_images = np.random.default_rng(0).random((64, 8, 8, 1)).astype("float32") * 2 - 1
BATCH_SIZE, EPOCHS, noise_dim = 16, 4, 16
train_dataset = tf.data.Dataset.from_tensor_slices(train_images).shuffle(64).batch(BATCH_SIZE)


def make_generator_model():
    model = tf.keras.Sequential()
    model.add(layers.Input((noise_dim,)))
    model.add(layers.Dense(2 * 2 * 16, use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(layers.Reshape((2, 2, 16)))
    model.add(layers.Conv2DTranspose(8, (3, 3), strides=(2, 2), padding="same", use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(layers.Conv2DTranspose(1, (3, 3), strides=(2, 2), padding="same", use_bias=False, activation="tanh"))
    return model


def make_discriminator_model():
    model = tf.keras.Sequential()
    model.add(layers.Input((8, 8, 1)))
    model.add(layers.Conv2D(8, (3, 3), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))
    model.add(layers.Flatten())
    model.add(layers.Dense(1))
    return model


generator = make_generator_model()
discriminator = make_discriminator_model()
cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)
generator_optimizer = tf.keras.optimizers.Adam(1e-4)
discriminator_optimizer = tf.keras.optimizers.Adam(1e-4)
checkpoint_prefix = os.path.join(checkpoint_dir, "ckpt")
checkpoint = tf.train.Checkpoint(generator_optimizer=generator_optimizer,
                                 discriminator_optimizer=discriminator_optimizer,
                                 generator=generator, discriminator=discriminator)


@tf.function
def train_step(images):
    noise = tf.random.normal([BATCH_SIZE, noise_dim])
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


def train(dataset, epochs):
    for epoch in range(epochs):
        for image_batch in dataset:
            train_step(image_batch)
        if (epoch + 1) % 2 == 0:
            checkpoint.save(file_prefix=checkpoint_prefix)


train(train_dataset, EPOCHS)
checkpoint.restore(tf.train.latest_checkpoint(checkpoint_dir))
