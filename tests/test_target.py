"""The Keras generation a project targets: `keras-version`, then the pins in its files, then the
module's own Keras 2 signals; rules about one generation stay quiet on code for the other."""

from __future__ import annotations

import textwrap

import pytest

from ckptlint.lint import target
from cli_helpers import run_ckptlint

SAVE_FORMAT = textwrap.dedent("""\
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y)
    model.save("export_dir", save_format="tf")
""")


@pytest.fixture(autouse=True)
def _fresh_detection():
    target.detect.cache_clear()
    yield
    target.detect.cache_clear()


@pytest.mark.parametrize(("name", "text", "keras"), [
    ("requirements.txt", "tensorflow==2.15.1\nnumpy\n", 2),
    ("requirements.txt", "tensorflow>=2.16,<2.22\n", 3),
    ("requirements-dev.txt", "tf_keras~=2.16\n", None),  # a dev requirement does not decide
    ("requirements.txt", "tf_keras~=2.16\n", 2),
    ("pyproject.toml", '[project]\ndependencies = ["libcst"]\n[project.optional-dependencies]\ntest = ["tf_keras"]\n', None),
    ("requirements.txt", "tensorflow-addons==0.23\ntensorflow\n", 2),
    ("requirements.txt", "keras>=3.0\n", 3),
    ("requirements.txt", "keras<3\n", 2),
    ("pyproject.toml", '[project]\ndependencies = ["tensorflow-cpu==2.13.*"]\n', 2),
    ("setup.py", 'setup(install_requires=["tensorflow>=2.4,<2.16", "absl-py"])\n', 2),
    ("setup.cfg", "[options]\ninstall_requires =\n    keras==3.3.3\n", 3),
    ("requirements.txt", "numpy\n# tensorflow==2.10 used to be pinned\n", None),
])
def test_pins_in_project_files_decide_the_generation(tmp_path, name, text, keras):
    (tmp_path / name).write_text(text)
    (tmp_path / "src").mkdir()
    assert target.detect(str(tmp_path / "src")).keras == keras


def test_detection_stops_at_the_project_root(tmp_path):
    (tmp_path / "requirements.txt").write_text("tensorflow==2.12\n")
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    assert target.detect(str(project)).keras is None


def test_keras2_pins_silence_keras3_claims_and_the_report_names_the_target(write, tmp_path):
    write("train.py", SAVE_FORMAT)
    write("requirements.txt", "tensorflow==2.17.0\n")  # Keras 3 declared: its signatures apply
    assert run_ckptlint("check", "--no-cache", "train.py", cwd=tmp_path).returncode == 1
    write("requirements.txt", "tensorflow==2.15.0\n")
    result = run_ckptlint("check", "--no-cache", "train.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "Target: Keras 2 (requirements.txt requires tensorflow==2.15.0)." in result.stdout


def test_the_config_key_wins_over_the_pins_and_is_validated(write, tmp_path):
    write("train.py", SAVE_FORMAT)
    write("requirements.txt", "tensorflow==2.15.0\n")
    write("pyproject.toml", "[tool.ckptlint]\nkeras-version = 3\n")
    result = run_ckptlint("check", "--no-cache", "train.py", cwd=tmp_path)
    assert result.returncode == 1 and "Target: Keras 3 (keras-version in [tool.ckptlint])." in result.stdout
    write("pyproject.toml", "[tool.ckptlint]\nkeras-version = 4\n")
    bad = run_ckptlint("check", "--no-cache", "train.py", cwd=tmp_path)
    assert bad.returncode == 2 and "`keras-version` must be 2 or 3" in bad.stderr


def test_the_generation_is_part_of_the_cache_key(write, tmp_path):
    write("train.py", SAVE_FORMAT)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    write("requirements.txt", "tensorflow==2.17.0\n")
    assert run_ckptlint("check", *cache, "train.py", cwd=tmp_path).returncode == 1
    write("requirements.txt", "tensorflow==2.15.0\n")
    assert run_ckptlint("check", *cache, "train.py", cwd=tmp_path).returncode == 0
