"""The rules, one module each; installed as `ckptlint.rules` (see ckptlint.lint.registry)."""
