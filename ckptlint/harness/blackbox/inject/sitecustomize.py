"""ckptlint's black-box hook, started by Python itself at interpreter start-up.

`ckptlint verify -- COMMAND` puts this directory first on PYTHONPATH (as coverage tools do), so every
Python process the command starts imports this module before any user code. It does nothing unless the
CKPTLINT_BLACKBOX variable names a trial configuration. The probe is loaded from its file under a
private name, so the user's interpreter needs nothing of ckptlint on its path, and a sitecustomize that
this one shadows (a distribution's or a virtualenv's) is still run afterwards.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _start_probe() -> None:
    config = os.environ.get("CKPTLINT_BLACKBOX")
    if not config:
        return
    try:
        import importlib.util

        package_dir = os.path.join(os.path.dirname(_HERE), "probe")
        spec = importlib.util.spec_from_file_location(
            "_ckptlint_probe", os.path.join(package_dir, "__init__.py"), submodule_search_locations=[package_dir])
        if spec is None or spec.loader is None:
            raise ImportError(f"no loader for {package_dir}")
        module = importlib.util.module_from_spec(spec)
        sys.modules["_ckptlint_probe"] = module
        spec.loader.exec_module(module)
        module.start(config)
    except Exception as exc:  # the hook must never stop the program
        sys.modules.pop("_ckptlint_probe", None)
        print(f"ckptlint hook: could not start ({type(exc).__name__}: {exc}); the program runs unhooked",
              file=sys.stderr)


def _run_shadowed_sitecustomize() -> None:
    """Run the next sitecustomize on the path, which this module hides by taking its name."""
    import importlib.util

    for entry in sys.path:
        if not entry or os.path.abspath(entry) == _HERE:
            continue
        candidate = os.path.join(entry, "sitecustomize.py")
        if os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_shadowed_sitecustomize", candidate)
            if spec is None or spec.loader is None:  # not for a .py file; nothing to run then
                return
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                print(f"sitecustomize {candidate} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return


_start_probe()
_run_shadowed_sitecustomize()
