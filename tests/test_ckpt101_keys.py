"""CKPT101's fix names the optimizer's key the way the checkpoint names its other keys, never reuses a
key, and runs only with --unsafe-fixes (it changes the layout of the checkpoints written from then on:
tests/harness/test_ckpt101_fix_layout.py measures what that does to a strict restore of older ones)."""

from __future__ import annotations

import pytest

from ckptlint.lint.fix.apply import fix_text
from ckptlint.lint.registry import rule_by_code

GAN = """\
import tensorflow as tf
generator = tf.keras.Sequential([tf.keras.layers.Dense(4)])
discriminator = tf.keras.Sequential([tf.keras.layers.Dense(1)])
g_opt = tf.keras.optimizers.Adam(1e-4)
d_opt = tf.keras.optimizers.Adam(1e-4)
ckpt = tf.train.Checkpoint({keys})
def train_step(noise, real):
    with tf.GradientTape() as gt, tf.GradientTape() as dt:
        fake = generator(noise)
        g_loss = -tf.reduce_mean(discriminator(fake))
        d_loss = tf.reduce_mean(discriminator(fake)) - tf.reduce_mean(discriminator(real))
    g_opt.apply_gradients(zip(gt.gradient(g_loss, generator.trainable_variables), generator.trainable_variables))
    d_opt.apply_gradients(zip(dt.gradient(d_loss, discriminator.trainable_variables), discriminator.trainable_variables))
    ckpt.save("/tmp/gan/ckpt")
"""


def fixed_keys(keys: str, *, unsafe: bool = True) -> str:
    source = GAN.format(keys=keys)
    result = fix_text("gan.py", source, ("CKPT101",), unsafe=unsafe)
    line = next(line for line in result.text.splitlines() if line.startswith("ckpt = "))
    return line[len("ckpt = tf.train.Checkpoint("):-1]


@pytest.mark.parametrize(("keys", "added"), [
    # the pattern of the pair already there, applied to the model that lacks its optimizer
    ("g_model=generator, d_model=discriminator, g_optimizer=g_opt", "d_optimizer=d_opt"),
    ("model_g=generator, model_d=discriminator, optimizer_g=g_opt", "optimizer_d=d_opt"),
    ("generator=generator, discriminator=discriminator, generator_optimizer=g_opt",
     "discriminator_optimizer=d_opt"),
    ("generator=generator, discriminator=discriminator, g_optimizer=g_opt", "d_optimizer=d_opt"),
    ("gen=generator, disc=discriminator, gen_opt=g_opt", "disc_opt=d_opt"),
    # no pattern to follow and `optimizer` would not say whose: the binding's own name
    ("generator=generator, discriminator=discriminator, optimizer=g_opt", "d_opt=d_opt"),
    # the pattern's key is taken by something else: the binding's name instead, never a second `d_optimizer`
    ("g_model=generator, d_model=discriminator, g_optimizer=g_opt, d_optimizer=tf.Variable(0)", "d_opt=d_opt"),
])
def test_the_new_key_follows_the_checkpoint_naming(keys, added):
    assert fixed_keys(keys) == f"{keys}, {added}"


def test_two_models_without_optimizers_get_their_bindings_names_then_the_pattern():
    # `optimizer=` for one of two models would not say whose optimizer it is
    assert fixed_keys("generator=generator, discriminator=discriminator") == \
        "generator=generator, discriminator=discriminator, g_opt=g_opt, d_opt=d_opt"


def test_one_model_gets_the_conventional_optimizer_key():
    source = GAN.format(keys="generator=generator, discriminator=discriminator, d_optimizer=d_opt")
    single = source.replace("discriminator=discriminator, d_optimizer=d_opt", "").replace(
        "generator=generator, ", "generator=generator")
    result = fix_text("one.py", single, ("CKPT101",), unsafe=True)
    assert "tf.train.Checkpoint(generator=generator, optimizer=g_opt)" in result.text


def test_the_fix_is_unsafe_and_waits_for_the_flag():
    assert rule_by_code("CKPT101").fix_safety == "unsafe"
    keys = "g_model=generator, d_model=discriminator, g_optimizer=g_opt"
    assert fixed_keys(keys, unsafe=False) == keys
