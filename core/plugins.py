"""Find PBX plugins through entry points, importing only the one asked for."""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from warmline.errors import PluginError
from warmline.pbx import PbxPlugin

GROUP = "warmline.pbx"


def load_pbx_plugin(name: str) -> PbxPlugin:
    return load_pbx_plugin_class(name)()


@functools.cache
def load_pbx_plugin_class(name: str) -> type[PbxPlugin]:
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise PluginError(f"no PBX plugin named {name!r} is installed (installed: {known}); "
                          "set pbx to one of them or reinstall warmline")
    try:
        return found[name].load()
    except ImportError as exc:
        raise PluginError(f"PBX plugin {name!r} failed to import ({exc}); reinstall warmline") from None
