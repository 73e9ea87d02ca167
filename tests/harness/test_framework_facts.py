"""The framework behaviours the rule pages state, measured on the TensorFlow and Keras installed here.

benchmarks/framework_facts.py measures every fact docs/framework.md states; this test runs its quick
subset (`--fast`: the facts behind CKPT101, CKPT201-205, CKPT302, CKPT401 and CKPT402) and checks the
outcomes those rule pages quote, value by value. A TensorFlow or Keras upgrade that changes one of them
fails here, next to the sentence that has to change."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tf

REPO = Path(__file__).resolve().parents[2]


def _load_script():
    spec = importlib.util.spec_from_file_location("framework_facts", REPO / "benchmarks" / "framework_facts.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module's annotations through sys.modules
    spec.loader.exec_module(module)
    return module


facts_script = _load_script()


@pytest.fixture(scope="module")
def facts(tmp_path_factory) -> dict:
    """Every fast fact, run once for the module: {key: FactResult}."""
    fast = [fact for fact in facts_script.FACTS if fact.fast]
    results = facts_script.run_facts(fast, jobs=2, root=tmp_path_factory.mktemp("facts"))
    crashed = {result.key: result.error for result in results if result.error}
    assert crashed == {}
    return {result.key: result for result in results}


def test_every_fast_fact_bears_out_its_documented_claim(facts):
    assert {key: result.outcome for key, result in facts.items() if not result.holds} == {}


def test_ckpt101_checkpoint_of_the_model_alone_loses_a_custom_loop_optimizer(facts):
    m = facts["checkpoint-model-only-custom-loop"].measured
    assert m["weights_restored"] is True
    assert (m["slots_restored"], m["iterations_after_restore"], m["lr_restored"]) == (False, 0, False)
    assert m["resume_bitwise"] is False


def test_ckpt201_ckpt203_a_renamed_key_restores_nothing_and_only_two_asserts_tell(facts):
    m = facts["key-mismatch"].measured
    assert m["restore_error"] is None and m["weights_restored"] is False
    unbound = "AssertionError: Found 4 Python objects that were not bound to checkpointed values"
    assert m["assert_consumed"].startswith(unbound)
    assert m["assert_existing_objects_matched"].startswith(unbound)
    assert m["assert_nontrivial_match"] is None
    assert m["expect_partial"] is None


def test_ckpt202_latest_checkpoint_of_a_save_prefix_is_none(facts):
    m = facts["latest-checkpoint-prefix"].measured
    assert m["written"] == "initial_checkpoint-1"
    assert m["latest_of_prefix"] is None
    assert m["latest_of_directory"] == "initial_checkpoint-1"
    assert m["restore_none_status"] == "InitializationOnlyStatus"
    no_path = "AssertionError: No checkpoint specified (save_path=None); nothing is being restored."
    assert m["restore_none_assert_consumed"] == no_path
    assert m["restore_none_assert_existing"] == no_path


def test_ckpt204_compile_after_load_model_replaces_the_restored_optimizer(facts):
    m = facts["compile-after-load"].measured
    assert m["iterations_after_load"] == 5
    assert (m["new_adam_optimizer"], m["new_adam_iterations"]) == ("Adam", 0)
    assert (m["adam_string_optimizer"], m["adam_string_iterations"]) == ("Adam", 0)
    assert (m["loss_only_optimizer"], m["loss_only_iterations"]) == ("RMSprop", 0)
    assert m["keeps_model_optimizer_iterations"] == 5


def test_ckpt205_weights_h5_restores_the_optimizer_only_into_a_built_one(facts):
    m = facts["weights-h5"].measured
    assert m["compiled_unbuilt_iterations"] == 0
    assert m["compiled_unbuilt_warnings"] == [
        "Skipping variable loading for optimizer 'adam', because it has 1 variables whereas the saved "
        "optimizer has 9 variables."]
    assert m["compiled_unbuilt_weights_restored"] is True and m["compiled_unbuilt_resume_bitwise"] is False
    assert m["compiled_built_first_iterations"] == 5 and m["compiled_built_first_warnings"] == []
    assert m["compiled_built_first_resume_bitwise"] is True
    assert m["loaded_before_compile_iterations"] == 0 and m["loaded_before_compile_resume_bitwise"] is False


def test_ckpt302_a_save_wrapped_around_a_manager_save_doubles_and_is_never_pruned(facts):
    m = facts["manager-save-wrapped"].measured
    assert m["returned"] == ["ckpt-1-2", "ckpt-3-4", "ckpt-5-6", "ckpt-7-8"]
    assert m["files"] == ["ckpt-1-2", "ckpt-3-4", "ckpt-5", "ckpt-5-6", "ckpt-7", "ckpt-7-8"]
    assert (m["state_file_latest"], m["manager_latest"]) == ("ckpt-7-8", "ckpt-7")


def test_ckpt401_keras_3_optimizers_have_no_get_weights(facts):
    m = facts["optimizer-get-set-weights"].measured
    assert m["get_weights"].startswith("AttributeError: 'Adam' object has no attribute 'get_weights'")
    assert m["set_weights_unbuilt"].startswith(
        "ValueError: You are calling `set_weights()` on an optimizer that has not yet been built")
    assert m["set_weights_built"] is None


def test_ckpt402_wrong_checkpoint_arguments_raise_when_the_line_runs(facts):
    m = facts["checkpoint-api-signatures"].measured
    assert m["save_checkpoint_prefix"] == (
        "TypeError: Checkpoint.save() got an unexpected keyword argument 'checkpoint_prefix'")
    assert m["checkpoint_positional"].startswith("TypeError:")
    assert m["manager_without_max_to_keep"].startswith("TypeError:") and "max_to_keep" in m["manager_without_max_to_keep"]
    assert m["save_weights_save_format"] == (
        "TypeError: Model.save_weights() got an unexpected keyword argument 'save_format'")
    assert m["model_checkpoint_period"] == (
        "TypeError: ModelCheckpoint.__init__() got an unexpected keyword argument 'period'")
    assert m["load_weights_options"] is not None


def test_a_phase_that_crashes_is_reported_not_raised(tmp_path):
    """The runner turns a phase that fails in its child process into an error on the fact (and exit
    code 2), never a traceback in the parent. Here the child cannot even find the fact."""
    fact = facts_script.Fact("no-such-fact", "never judged", (facts_script.Phase(lambda work, earlier: {}),),
                             lambda m: True, lambda m: "")
    result = facts_script.run_fact(fact, root=tmp_path)
    assert result.holds is None
    assert result.error.startswith("phase 0: exit code 1") and "KeyError" in result.error
    assert facts_script.exit_code([result]) == 2
