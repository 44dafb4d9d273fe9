"""The wheel alone runs Warmline: installed into a fresh venv and run from a folder outside the
checkout, `warmline classify` and `warmline check --only models` use the wheel's own code, intent
model, flows and prompt catalog.

The fresh venv gets third-party packages from the project's .venv through a `.pth` line pointing at
a view of its site-packages with warmline itself left out (the editable finder, its .pth and its
dist-info), so nothing is downloaded and no checkout code can leak in; the wheel goes in with
`pip --python <venv> install --no-deps`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.packaging.conftest import REPO

# Nothing listens here: a check that tried to reach ARI would fail.
MINIMAL_TOML = """\
pbx = "asterisk"

[ari]
url = "http://127.0.0.1:9"

[vad]
engine = "silero"

[stt]
engine = "whisper"
"""


def _own(name: str) -> bool:
    """An entry of site-packages that belongs to warmline itself (editable or installed)."""
    lowered = name.lower()
    return lowered.startswith(("__editable__", "warmline")) or lowered.endswith(".pth") or name == "__pycache__"


class Venv:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "venv" / "bin"
        self.work = root / "work"  # the current directory of every command: outside the checkout
        self.work.mkdir()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("WARMLINE_", "PYTHON", "VIRTUAL_ENV"))}

    def run(self, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=self.work, env=self.env,
                              timeout=120)


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Venv:
    root = tmp_path_factory.mktemp("wheel-venv")
    assert not root.resolve().is_relative_to(REPO)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(root / "venv")], check=True, timeout=60)
    env = Venv(root)
    site = Path(env.run(str(env.bin / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
                .stdout.strip())
    view = root / "deps"
    view.mkdir()
    for folder in {Path(sysconfig.get_path("purelib")), Path(sysconfig.get_path("platlib"))}:
        for entry in folder.iterdir():
            if not _own(entry.name) and not (view / entry.name).exists():
                (view / entry.name).symlink_to(entry)
    (site / "project-deps.pth").write_text(f"{view}\n")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env.bin / "python"), "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", "-q", str(wheel)], capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return env


def test_the_installed_warmline_is_the_wheels_copy(venv):
    code = ("import json, sys, importlib.metadata as md, warmline, warmline.intent_model, warmline.data, "
            "warmline.nlu.entities\n"
            "print(json.dumps({'files': [warmline.__file__, warmline.intent_model.__file__, warmline.data.__file__,"
            " warmline.nlu.entities.__file__],"
            " 'dists': [str(d._path) for d in md.distributions(name='warmline')],"
            " 'pbx': [e.value for e in md.entry_points(group='warmline.pbx')], 'path': sys.path}))")
    done = venv.run(str(venv.bin / "python"), "-c", code)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    for path in found["files"] + found["dists"]:
        assert Path(path).is_relative_to(venv.root / "venv"), path
        assert not Path(path).resolve().is_relative_to(REPO), path
    assert len(found["dists"]) == 1 and found["pbx"] == ["warmline.ari_app.plugin:AsteriskPlugin"]
    assert not any(Path(p).resolve().is_relative_to(REPO) for p in found["path"] if p), found["path"]


def test_classify_from_the_wheel(venv):
    lines = ["what's my balance", "I canceled but you still charged me", "id card please",
             "my claim number is four four one two"]
    done = venv.run(str(venv.bin / "warmline"), "classify", "-c", os.devnull, stdin="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["intent"] for o in out[:3]] == ["billing_inquiry", "billing_dispute", "id_card"]
    assert {"kind": "claim_number", "value": "4412", "text": "four four one two"} in out[3]["entities"]


def test_check_only_models_from_the_wheel(venv):
    (venv.work / "minimal.toml").write_text(MINIMAL_TOML)
    done = venv.run(str(venv.bin / "warmline"), "check", "--only", "models", "-c", "minimal.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = {line.split()[1]: line for line in done.stdout.splitlines()}
    assert list(verdicts) == ["config", "vad-model", "stt-model", "intent", "flows"], done.stdout
    assert all(line.startswith("ok") for line in verdicts.values()), done.stdout
    assert "silero" in verdicts["vad-model"] and "whisper" in verdicts["stt-model"]
    flows_file = Path(verdicts["flows"].split(" in ", 1)[1])
    assert flows_file.is_relative_to(venv.root / "venv") and flows_file.is_file(), verdicts["flows"]
