"""Training programs in the shape of public TensorFlow / Keras tutorials, shrunk to run on a CPU in seconds,
each with a factory for `ckptlint verify`. Every module says which tutorial it follows and what the
harness must conclude about it."""
