"""The training loop of the Keras guide "Writing a training loop from scratch in TensorFlow".

Source: https://keras.io/guides/writing_a_custom_training_loop_in_tensorflow/ (keras-team/keras-io
guides/writing_a_custom_training_loop_in_tensorflow.py, sections "Using the GradientTape" and "Speeding-up
your training step with tf.function"). Re-written here, not copied: a functional MLP, Adam, sparse
categorical cross-entropy from logits, a metric, a `tf.function` train step, an epoch loop over a
shuffled, batched tf.data dataset. It has no checkpoint at all. Shrunk: random data of MNIST's shape
(no download), 192 samples, 32 units instead of 64, batch 32, 2 epochs.
"""

import sys  # noqa: F401  (the command passes an output directory it does not use)

import keras
import numpy as np
import tensorflow as tf

rng = np.random.default_rng(0)
x_train = rng.random((192, 784)).astype("float32")
y_train = rng.integers(0, 10, size=(192,))

inputs = keras.Input(shape=(784,), name="digits")
x1 = keras.layers.Dense(32, activation="relu")(inputs)
x2 = keras.layers.Dense(32, activation="relu")(x1)
outputs = keras.layers.Dense(10, name="predictions")(x2)
model = keras.Model(inputs=inputs, outputs=outputs)
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
train_acc_metric = keras.metrics.SparseCategoricalAccuracy()
train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(buffer_size=1024).batch(32)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss_value = loss_fn(y, logits)
    grads = tape.gradient(loss_value, model.trainable_weights)
    optimizer.apply(grads, model.trainable_weights)
    train_acc_metric.update_state(y, logits)
    return loss_value


for epoch in range(2):
    for step, (x_batch, y_batch) in enumerate(train_dataset):
        loss_value = train_step(x_batch, y_batch)
    print(f"epoch {epoch}: accuracy {float(train_acc_metric.result()):.4f}")
    train_acc_metric.reset_state()
