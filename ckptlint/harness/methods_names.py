"""The method names, importable without TensorFlow (argparse choices)."""

BUILTIN_METHODS = ("user", "checkpoint", "manager", "keras", "h5", "weights", "savedmodel", "backup_and_restore",
                   "orbax")
METHOD_NAMES = (*BUILTIN_METHODS, "all")
