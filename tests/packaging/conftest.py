"""The wheel, built once per run from a copy of what pyproject.toml packages (the checkout stays clean)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# pip could not fetch the build backend (setuptools>=77): the one reason to skip rather than fail.
NO_BACKEND = ("No matching distribution found for setuptools", "Could not find a version that satisfies")


def build_wheel(out: Path) -> Path:
    """pip wheel --no-deps on a copy of pyproject.toml, README.md and every package-dir folder."""
    src = out / "src"
    src.mkdir(parents=True)
    for name in ("pyproject.toml", PYPROJECT["project"]["readme"]):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for folder in PYPROJECT["tool"]["setuptools"]["package-dir"].values():
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    dist = out / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", str(dist),
         str(src)], capture_output=True, text=True, timeout=300,
    )
    if done.returncode != 0:
        tail = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("WARNING: Location"))
        if any(marker in done.stderr for marker in NO_BACKEND):
            pytest.skip(f"cannot build the wheel here: pip found no build backend ({tail[-300:]})")
        pytest.fail(f"pip wheel failed:\n{tail[-3000:]}")
    (wheel,) = dist.glob("warmline-*.whl")
    return wheel


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def wheel_files(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())
