"""The semantic model: one libcst pass per module builds the facts every rule reads."""

from ckptlint.model.facts import Binding, Call, CheckpointFact, Key, ManagerFact, Ref, Role, Scope
from ckptlint.model.module import ModuleModel

__all__ = ["Binding", "Call", "CheckpointFact", "Key", "ManagerFact", "ModuleModel", "Ref", "Role", "Scope"]
