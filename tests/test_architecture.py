"""The package's shape, enforced: one-way imports, no import side effects, YAML as the defaults."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import infrec
from infrec.paths import config_dir
from infrec.registry import RESERVED, constructor_params
from tests.helpers import infrec_imports

SRC = Path(infrec.__file__).parent

LAYERS = (
    (
        "infrec",
        "infrec.errors",
        "infrec.paths",
        "infrec.validate",
        "infrec.numerics",
        "infrec.registry",
        "infrec.config",
        "infrec.cli",
        "infrec.progress",
        "infrec.memory",
        "infrec.threads",
    ),
    ("infrec.data",),
    ("infrec.kernels", "infrec.linalg", "infrec.sparse", "infrec.sharding"),
    ("infrec.models",),
    ("infrec.evaluate",),
    ("infrec.selection",),
    ("infrec.distillation",),
    ("infrec.samplers",),
    ("infrec.track",),
    ("infrec.reports",),
    ("infrec.apps",),
)
"""Bottom to top, as the package docstring states; a module imports only from its layer or below."""

RUNTIME = {"seed", "dtype", "support_dir"}
"""Run-wide values the registry passes to constructors that take them (not YAML keys)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    matches = [
        (len(prefix), i)
        for i, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or (prefix != "infrec" and module.startswith(prefix + "."))
    ]
    assert matches, f"{module} is in no layer of LAYERS"
    return max(matches)[1]


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_go_one_way(path):
    module = module_name(path)
    for target in infrec_imports(path) - {module}:
        assert layer(target) <= layer(module), f"{module} (layer {layer(module)}) imports {target}"
        if target.startswith("infrec.apps"):
            pytest.fail(f"{module} imports the entry point {target}")


def test_the_package_docstring_states_the_layers():
    doc = " ".join(infrec.__doc__.split())
    positions = [doc.find(f"``{prefixes[-1].split('.')[-1]}``") for prefixes in LAYERS[1:]]
    assert -1 not in positions, positions
    assert positions == sorted(positions), "the docstring lists the layers out of order"


ALLOWED_CALLS = {"logging.getLogger", "math.sqrt"}
"""Calls allowed at module level: pure functions (JAX derivative rules are allowed too)."""


def _call_name(node: ast.AST) -> str:
    return ast.unparse(node.func) if isinstance(node, ast.Call) else ""


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_module_level_code_only_defines(path):
    """No statement at import time does anything but define names (no registration, no I/O)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Expr):
            rule = _call_name(node.value).endswith((".defvjp", ".defjvp"))
            assert isinstance(node.value, ast.Constant) or rule, (
                f"{path.name}:{node.lineno} runs code"
            )
        elif isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
            name = _call_name(node.value)
            assert name in ALLOWED_CALLS, f"{path.name}:{node.lineno} calls {name} at import"
        elif isinstance(node, ast.If):
            assert ast.unparse(node.test) == "__name__ == '__main__'", f"{path.name}:{node.lineno}"


def test_importing_everything_changes_no_global_state():
    modules = [module_name(p) for p in MODULES]
    code = (
        "import importlib, json, jax\n"
        "from omegaconf import OmegaConf\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "state = [OmegaConf.has_resolver('infrec.root'), bool(jax.config.jax_enable_x64)]\n"
        "print(json.dumps(state))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == [False, False]


def group_configs():
    for group, package in (("model", "models"), ("sampler", "samplers")):
        for path in sorted((config_dir() / group).glob("*.yaml")):
            yield pytest.param(group, package, path, id=f"{group}/{path.stem}")


@pytest.mark.parametrize(("group", "package", "path"), list(group_configs()))
def test_yaml_is_the_one_source_of_defaults(group, package, path):
    """Each config names its class by convention, sets every constructor parameter, and the
    constructors define no defaults that could drift from it."""
    cfg = OmegaConf.to_container(OmegaConf.load(path))
    name = path.stem
    assert cfg["name"] == name
    assert cfg["_target_"].rsplit(".", 1)[0] == f"infrec.{package}.{name}", "one guess: the module"
    from hydra.utils import get_class

    cls = get_class(cfg["_target_"])
    assert cls.name == name
    keys = set(cfg) - set(RESERVED)
    params = set(constructor_params(cls))
    assert keys == params - RUNTIME, (
        f"{path.name}: YAML keys and {cls.__name__}'s parameters differ"
    )
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None or klass.__module__.split(".")[0] != "infrec":
            continue
        defaults = [
            p.name
            for p in list(inspect.signature(init).parameters.values())[1:]
            if p.default is not p.empty
        ]
        assert defaults == [], (
            f"{klass.__name__}.__init__ has defaults {defaults}: put them in YAML"
        )
