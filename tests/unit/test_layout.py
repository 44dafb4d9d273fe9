"""The house: which room may import which, checked on every module's imports (lazy ones too).

core/ is the package `warmline` and knows no PBX; ari_app/ is the Asterisk plugin. Inside core the
rooms form a ladder: a room imports only rooms below it, so no import circle can cross rooms.
"""

import ast
import tomllib
from pathlib import Path

import pytest
from warmline.errors import PluginError
from warmline.plugins import load_pbx_plugin

REPO = Path(__file__).resolve().parents[2]
CORE, PLUGIN = REPO / "core", REPO / "ari_app"
BASE = {"errors", "privacy", "health", "tasks"}  # top-level modules everything may use

# room -> the rooms it may import. "root" is the top-level assembly (cli, config, logs, plugins, pbx).
ALLOWED = {
    "base": set(),
    "speech": {"base"},
    "nlu": {"base"},
    "crm": {"base"},
    "calls": {"base", "speech"},
    "dialog": {"base", "speech", "calls", "nlu", "crm"},
    "handoff": {"base", "calls", "dialog", "crm"},
    "conversation": {"base", "speech", "calls", "nlu", "crm", "dialog", "handoff"},
    "numbers": {"base", "speech", "calls", "nlu", "crm", "dialog", "handoff"},
    "data": set(),
    "root": {"base", "speech", "calls", "nlu", "crm", "dialog", "handoff", "conversation", "numbers", "data"},
}
PLUGIN_PACKAGES = ("warmline.ari_app", "warmline.fs_app")
PBX_LIBRARIES = {"panoramisk", "greenswitch", "ESL"}


def module_name(path: Path) -> str:
    root, prefix = (PLUGIN, "warmline.ari_app") if path.is_relative_to(PLUGIN) else (CORE, "warmline")
    parts = [p for p in path.relative_to(root).with_suffix("").parts if p != "__init__"]
    return ".".join([prefix, *parts])


def room(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    if parts[1] in ALLOWED and parts[1] not in ("base", "root"):
        return parts[1]
    return "base" if parts[1] in BASE else "root"


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; write the absolute warmline.… name"
            found.add(node.module or "")
    return found


CORE_MODULES = sorted(CORE.rglob("*.py"))


def test_every_core_module_is_in_a_known_room():
    assert CORE_MODULES
    assert {room(module_name(p)) for p in CORE_MODULES} <= set(ALLOWED)


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_imports_no_pbx_code(path):
    bad = [m for m in imports(path) if m.startswith(PLUGIN_PACKAGES) or m.split(".")[0] in PBX_LIBRARIES]
    assert not bad, f"{path.relative_to(REPO)} imports PBX code {bad}: move it into the plugin"


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda p: str(p.relative_to(CORE)))
def test_rooms_import_only_rooms_below(path):
    mine = room(module_name(path))
    upward = sorted(m for m in imports(path) if m.startswith("warmline")
                    and room(m) != mine and room(m) not in ALLOWED[mine])
    assert not upward, f"{path.relative_to(REPO)} ({mine}) imports {upward}: not allowed from {mine}"


def test_the_ladder_has_no_circle():
    seen: dict[str, int] = {}

    def depth(r: str, path: tuple[str, ...] = ()) -> int:
        assert r not in path, f"rooms import each other in a circle: {' -> '.join(path + (r,))}"
        if r not in seen:
            seen[r] = 1 + max((depth(d, path + (r,)) for d in ALLOWED[r]), default=0)
        return seen[r]

    for r in ALLOWED:
        depth(r)


def test_plugin_uses_only_public_rooms_of_core():
    # the plugin may import any core room, but never another plugin
    for path in sorted(PLUGIN.rglob("*.py")):
        others = [m for m in imports(path) if m.startswith("warmline.fs_app")]
        assert not others, f"{path.relative_to(REPO)} imports another plugin: {others}"


def test_the_package_list_names_every_package():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(project["packages"])
    on_disk = {module_name(p) for root in (CORE, PLUGIN) for p in root.rglob("__init__.py")}
    assert on_disk - listed == set(), f"add these to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    assert project["package-dir"] == {"warmline": "core", "warmline.ari_app": "ari_app",
                                      "warmline.intent_model": "models/intent"}


def test_asterisk_plugin_loads_through_its_entry_point():
    plugin = load_pbx_plugin("asterisk")
    assert plugin.name == "asterisk"
    assert callable(plugin.serve) and callable(plugin.check)
    assert {"ari", "ami", "media"} <= set(plugin.settings_model.model_fields)


def test_engine_settings_know_no_pbx():
    from warmline.config import Settings

    assert not {"ari", "ami", "media", "fallback", "dialplan"} & set(Settings.model_fields)


def test_unknown_plugin_names_the_installed_ones():
    with pytest.raises(PluginError, match=r"no PBX plugin named 'sip-magic' .*installed: asterisk"):
        load_pbx_plugin("sip-magic")
