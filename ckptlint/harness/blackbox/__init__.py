"""`ckptlint verify -- COMMAND`: the black-box crash test of an unmodified training command.

The command runs unchanged in trials, each in a fresh working directory, with a probe injected at
interpreter start (inject/sitecustomize.py -> probe/): U uninterrupted, U2 again (determinism), K killed
at optimizer update k or inside a save, R the same command again in K's directory. What the probe
recorded is read back (record.py), judged (analysis.py) and rendered (report.py). This package imports
no TensorFlow: only the probe, inside the user's own process, touches the framework.
"""
