"""The semantic model: one libcst pass per module builds the facts every rule reads.

This package's face is the only API a rule uses: `ModuleModel` and its queries, the fact types, the
objects of the points-to analysis, the TF/Keras vocabulary, and two syntax helpers. Rules never read
the builder that produced the facts (tests/test_model_api.py checks it).
"""

from ckptlint.model.builder import dotted_name
from ckptlint.model.facts import Binding, Call, CheckpointFact, Key, ManagerFact, Ref, Role, Scope, Training
from ckptlint.model.module import ModuleModel
from ckptlint.model.values import Obj, ObjKind
from ckptlint.model.walk import ancestors

__all__ = [
    "Binding", "Call", "CheckpointFact", "Key", "ManagerFact", "ModuleModel", "Obj", "ObjKind", "Ref", "Role",
    "Scope", "Training", "ancestors", "dotted_name",
]
