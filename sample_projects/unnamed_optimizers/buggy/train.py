"""A two-network adversarial regression (a tiny GAN-style setup) with one Adam per network.

The checkpoint stores each optimizer under its Keras name, so that tools reading the checkpoint can find
"the generator's optimizer" by name.

Run: python train.py --steps 200 --checkpoint-dir runs/gan
"""

import argparse
import os

import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup

CHECKPOINT_DIR = "runs/gan"


def build_net(name):
    return tf.keras.Sequential([
        tf.keras.Input((4,)),
        tf.keras.layers.Dense(8, activation="relu"),
        tf.keras.layers.Dense(1),
    ], name=name)


def make_batch(step):
    rng = np.random.default_rng(step)
    return rng.normal(size=(16, 4)).astype("float32")


class GAN:
    def __init__(self):
        self.generator = build_net("generator")
        self.critic = build_net("critic")
        self.generator_optimizer = tf.keras.optimizers.Adam(1e-3)
        self.critic_optimizer = tf.keras.optimizers.Adam(1e-3)

    def optimizers(self):
        return {opt.name: opt for opt in (self.generator_optimizer, self.critic_optimizer)}

    def train_step(self, x):
        with tf.GradientTape(persistent=True) as tape:
            fake = self.generator(x, training=True)
            critic_loss = tf.reduce_mean(self.critic(tf.concat([x[:, :3], fake], 1)) - self.critic(x))
            generator_loss = -tf.reduce_mean(self.critic(tf.concat([x[:, :3], fake], 1)))
        self.critic_optimizer.apply_gradients(
            zip(tape.gradient(critic_loss, self.critic.trainable_variables), self.critic.trainable_variables))
        self.generator_optimizer.apply_gradients(
            zip(tape.gradient(generator_loss, self.generator.trainable_variables), self.generator.trainable_variables))
        return generator_loss

    def checkpoint(self):
        return tf.train.Checkpoint(generator=self.generator, critic=self.critic, **self.optimizers())

    def save(self, directory):
        return self.checkpoint().write(os.path.join(directory, "gan"))

    def restore(self, directory):
        path = os.path.join(directory, "gan")
        if tf.io.gfile.exists(path + ".index"):
            # Older checkpoints may lack an optimizer; restore what matches.
            self.checkpoint().read(path).expect_partial()


def make_setup():
    gan = GAN()
    return Setup(model=[gan.generator, gan.critic], optimizers=gan.optimizers(), train_step=gan.train_step,
                 batch=make_batch, save=gan.save, restore=gan.restore)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--checkpoint-dir", default=CHECKPOINT_DIR)
    args = parser.parse_args()
    gan = GAN()
    gan.restore(args.checkpoint_dir)
    for step in range(args.steps):
        loss = gan.train_step(make_batch(step))
        if step % 20 == 0:
            gan.save(args.checkpoint_dir)
            print(f"step {step} generator loss {float(loss):.4f}")


if __name__ == "__main__":
    main()
