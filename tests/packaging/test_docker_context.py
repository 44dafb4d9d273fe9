"""The container image's inputs, checked without Docker or podman (docker/podman-check builds it for real).

- every COPY source of docker/Dockerfile exists and is in the build context, i.e. not excluded by
  .dockerignore (read with Docker's own rules: last matching pattern wins, a pattern matching a
  parent folder matches everything under it, `!` re-includes);
- the wheel's build stage copies exactly what tests/packaging/conftest.py's build_wheel copies
  (pyproject.toml, its readme, every [tool.setuptools.package-dir] folder), so a new package-dir
  cannot silently go missing from the image;
- the context is small and carries nothing local (.git, .venv, the sandbox's credentials);
- the HEALTHCHECK reads the serve heartbeat (`warmline health`), never `warmline check`;
- docker/compose.yml runs serve and the watchdog as two services, both restarting on their own.

The matcher was compared once with podman's own reading of .dockerignore (a probe build doing
`COPY . /ctx` from a worktree with a .venv and a .sandbox/): the same 107 files.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.packaging.conftest import PYPROJECT, REPO

DOCKERFILE = REPO / "docker" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = REPO / "docker" / "compose.yml"
CONTEXT_LIMIT_BYTES = 20 * 1024 * 1024  # models/intent is ~6 MB; a .venv or .git alone is far more


# --- .dockerignore, with Docker's rules (moby/patternmatcher) -------------------------------------


@dataclass(frozen=True)
class Pattern:
    text: str
    negated: bool
    regex: re.Pattern[str]


def _to_regex(pattern: str) -> re.Pattern[str]:
    out, i = "^", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i + 1:i + 2] == "*":
                i += 1
                if pattern[i + 1:i + 2] == "/":
                    i += 1
                out += ".*" if i + 1 >= len(pattern) else "(.*/)?"
            else:
                out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        elif ch == "[":  # a character class passes through as in filepath.Match
            end = pattern.find("]", i)
            out += pattern[i:end + 1] if end > 0 else re.escape(ch)
            i = end if end > 0 else i
        else:
            out += re.escape(ch)
        i += 1
    return re.compile(out + "$")


def parse_dockerignore(text: str) -> list[Pattern]:
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line[1:].strip() if negated else line
        line = os.path.normpath(line).lstrip("/") if line not in ("", ".") else line
        if line:
            patterns.append(Pattern(line, negated, _to_regex(line)))
    return patterns


def excluded(path: str, patterns: list[Pattern]) -> bool:
    """Docker's MatchesOrParentMatches: is this context-relative path left out of the build context?"""
    parts = path.split("/")
    parents = ["/".join(parts[:i]) for i in range(1, len(parts))]
    matched = False
    for pattern in patterns:
        if pattern.negated != matched:  # only an exclusion can change an unmatched path, and vice versa
            continue
        if pattern.regex.match(path) or any(pattern.regex.match(p) for p in parents):
            matched = not pattern.negated
    return matched


def context_files(root: Path, patterns: list[Pattern]) -> dict[str, int]:
    """Every file the build would send, relative path -> size."""
    negations = [p.text for p in patterns if p.negated]

    def may_reinclude(folder: str) -> bool:
        return any(n.startswith(folder + "/") or not re.match(r"[^*?\[\\]+(/|$)", n) for n in negations)

    found: dict[str, int] = {}
    for here, dirs, files in os.walk(root):
        rel_here = os.path.relpath(here, root)
        rel = (lambda name: name) if rel_here == "." else (lambda name, base=rel_here: f"{base}/{name}")
        dirs[:] = [d for d in dirs if not (excluded(rel(d), patterns) and not may_reinclude(rel(d)))]
        for name in files:
            if not excluded(rel(name), patterns):
                found[rel(name)] = os.path.getsize(os.path.join(here, name))
    return found


# --- docker/Dockerfile -----------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """(ARGs before the first FROM, stages); continuation lines joined, comments dropped."""
    logical, current = [], ""
    for raw in text.splitlines():
        if raw.strip().startswith("#") and not current:
            continue
        if raw.strip().startswith("#"):
            continue  # a comment inside a continued instruction
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        current += raw
        if current.strip():
            logical.append(current.strip())
        current = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            stages.append(Stage(words[0], name))
        elif not stages:
            if keyword == "ARG":
                key, _, value = rest.partition("=")
                args[key] = value
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def copy_sources(stage: Stage) -> list[str]:
    """Context paths of a stage's COPY/ADD lines (those without --from, which copy from other stages)."""
    sources = []
    for keyword, rest in stage.instructions:
        if keyword not in ("COPY", "ADD"):
            continue
        words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        flags = [w for w in words if w.startswith("--")]
        if any(f.startswith("--from") for f in flags):
            continue
        paths = [w for w in words if not w.startswith("--")]
        sources += [os.path.normpath(p).lstrip("/") for p in paths[:-1]]
    return sources


def missing_sources(dockerfile_text: str, ignore_text: str, root: Path) -> list[str]:
    """COPY sources that do not exist, or that .dockerignore leaves out (with the reason)."""
    patterns = parse_dockerignore(ignore_text)
    _, stages = parse_dockerfile(dockerfile_text)
    problems = []
    for stage in stages:
        for source in copy_sources(stage):
            path = root / source
            if not path.exists():
                problems.append(f"{source}: does not exist in the repository")
                continue
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            files = [f for f in files if "__pycache__" not in f.parts and f.suffix != ".pyc"]
            left_out = [f.relative_to(root).as_posix() for f in files
                        if excluded(f.relative_to(root).as_posix(), patterns)]
            if not files or left_out:
                problems.append(f"{source}: excluded by .dockerignore ({left_out[:3] or 'empty'})")
    return problems


def wheel_inputs() -> list[str]:
    """What tests/packaging/conftest.py's build_wheel copies to build the wheel."""
    return ["pyproject.toml", PYPROJECT["project"]["readme"],
            *PYPROJECT["tool"]["setuptools"]["package-dir"].values()]


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def patterns() -> list[Pattern]:
    return parse_dockerignore(DOCKERIGNORE.read_text())


@pytest.fixture(scope="module")
def context(patterns) -> dict[str, int]:
    return context_files(REPO, patterns)


# --- the checkers themselves can fail ----------------------------------------------------------------


def test_the_ignore_rules_follow_docker(tmp_path):
    rules = parse_dockerignore("*\n!core\n!models/intent\n**/__pycache__\n")
    assert excluded(".venv/bin/python", rules) and excluded("tests/x.py", rules) and excluded("models/intents/a", rules)
    assert not excluded("core/cli.py", rules) and not excluded("models/intent/intent.onnx", rules)
    assert excluded("core/__pycache__/cli.cpython-311.pyc", rules)
    assert not excluded("a/b", parse_dockerignore("a/c\n")) and excluded("a/b/c", parse_dockerignore("a/**/c\n"))
    assert excluded("x.pyc", parse_dockerignore("*.pyc\n!x.pyc\n*.pyc\n"))  # the last match wins
    assert not excluded("x.pyc", parse_dockerignore("*.pyc\n!x.pyc\n"))


def test_the_checker_reports_a_missing_or_ignored_source(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "a.py").write_text("")
    # the Dockerfile this replaced: it copied a `warmline/` folder that no longer exists
    broken = "FROM python:3.11-slim-bookworm\nCOPY pyproject.toml ./\nCOPY warmline ./warmline\nCOPY core ./core\n"
    (tmp_path / "pyproject.toml").write_text("")
    found = missing_sources(broken, "core\n", tmp_path)
    assert found[0].startswith("warmline: does not exist") and found[1].startswith("core: excluded"), found
    assert missing_sources("FROM x AS b\nCOPY --from=a /dist /dist\nCOPY core ./core\n", "", tmp_path) == []


# --- the real Dockerfile and context ---------------------------------------------------------------------


def test_every_copy_source_is_in_the_build_context():
    assert missing_sources(DOCKERFILE.read_text(), DOCKERIGNORE.read_text(), REPO) == []


def test_the_build_stage_copies_what_the_wheel_is_built_from(dockerfile, context):
    _, stages = dockerfile
    (build,) = [s for s in stages if any("pip wheel" in rest for k, rest in s.instructions if k == "RUN")]
    copied = set(copy_sources(build))
    assert copied == set(wheel_inputs()), f"build stage copies {sorted(copied)}, the wheel needs {wheel_inputs()}"
    for source in wheel_inputs():
        assert any(f == source or f.startswith(source + "/") for f in context), f"{source} is not in the context"


def test_the_build_context_is_small_and_local_things_stay_out(context, patterns):
    assert context, "the build context is empty"
    roots = {f.split("/")[0] for f in context}
    for private in (".git", ".venv", ".sandbox", "tests", "bench", ".pytest_cache", "build"):
        assert private not in roots, f"{private}/ is in the build context"
    assert not [f for f in context if "__pycache__" in f or f.endswith(".pyc")]
    # a site's config and secrets beside compose.yml never reach an image, even before they exist
    for secret in ("docker/.env", "docker/warmline.toml", ".sandbox/default/sandbox.json", ".env"):
        assert excluded(secret, patterns), f"{secret} would be sent to the build"
    total = sum(context.values())
    assert total < CONTEXT_LIMIT_BYTES, f"build context is {total / 1e6:.1f} MB"


def test_the_runtime_stage(dockerfile):
    args, stages = dockerfile
    assert args.get("BASE") == "python:3.11-slim-bookworm"
    assert all(s.base == "${BASE}" for s in stages), [s.base for s in stages]
    runtime = stages[-1]
    runs = " ".join(rest for k, rest in runtime.instructions if k == "RUN")
    assert "flite" in runs and "espeak-ng" in runs
    # silero-vad exactly as scripts/bootstrap installs it: without its torch dependency
    silero = re.search(r"--no-deps '(silero-vad[^']*)'", (REPO / "scripts" / "bootstrap").read_text()).group(1)
    assert f"--no-deps '{silero}'" in runs, runs
    assert re.search(r"--no-deps \S*warmline-\*\.whl", runs), "the runtime stage installs the built wheel"
    users = [rest for k, rest in runtime.instructions if k == "USER"]
    assert users and users[-1] not in ("root", "0"), users
    last = {k: rest for k, rest in runtime.instructions}
    assert json.loads(last["ENTRYPOINT"]) == ["warmline"] and json.loads(last["CMD"]) == ["serve"]


def test_the_healthcheck_reads_the_heartbeat(dockerfile):
    _, stages = dockerfile
    checks = [rest for s in stages for k, rest in s.instructions if k == "HEALTHCHECK"]
    assert len(checks) == 1 and checks[0] in [r for k, r in stages[-1].instructions if k == "HEALTHCHECK"]
    command = checks[0].split(" CMD ", 1)[1] if " CMD " in checks[0] else checks[0]
    assert re.search(r"\bwarmline health\b", command), command
    assert "warmline check" not in command, "warmline check loads every model: not a health check"


# --- docker/compose.yml ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_compose_runs_serve_and_the_watchdog(services):
    assert set(services) >= {"warmline", "watchdog"}, set(services)
    assert services["warmline"]["command"] == ["serve"] and services["watchdog"]["command"] == ["watchdog"]
    assert services["warmline"]["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert (REPO / "docker" / services["warmline"]["build"]["context"] / "docker" / "Dockerfile").resolve() == DOCKERFILE
    for name in ("warmline", "watchdog"):
        service = services[name]
        assert service.get("restart") in ("unless-stopped", "always"), f"{name}: restart {service.get('restart')}"
        assert service.get("network_mode") == "host", name
        assert service.get("image") == "warmline:latest", name
        assert "./warmline.toml:/etc/warmline/warmline.toml:ro" in service["volumes"], name
        for key, value in service["environment"].items():
            if "PASSWORD" in key:
                assert str(value).startswith("${"), f"{name}: {key} is written in the file, not taken from the env"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is not bound to 127.0.0.1"
    # the image's HEALTHCHECK asks "is serve alive?": the watchdog's own health is another question
    assert services["watchdog"].get("healthcheck") == {"disable": True}
    assert "depends_on" not in services["watchdog"], "the watchdog must run while serve is down"
