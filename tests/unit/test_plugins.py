import ast
from pathlib import Path

import pytest

from warmline.errors import PluginError
from warmline.plugins import load_pbx_plugin

CORE = Path(__file__).resolve().parents[2] / "warmline" / "core"


def test_asterisk_plugin_loads_through_its_entry_point():
    plugin = load_pbx_plugin("asterisk")
    assert plugin.name == "asterisk"
    assert callable(plugin.serve) and callable(plugin.check)


def test_unknown_plugin_names_the_installed_ones():
    with pytest.raises(PluginError, match=r"no PBX plugin named 'sip-magic' .*installed: asterisk"):
        load_pbx_plugin("sip-magic")


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_pbx_code(path):
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
    forbidden = {"aiohttp", "panoramisk", "greenswitch"}
    assert not any(name.split(".")[0] in forbidden or "ari_app" in name or "fs_app" in name
                   or name.startswith("..") for name in imported), imported
