"""pyproject.toml, environment.yml and binder/ describe one and the same environment."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # comes with the Jupyter stack (jupyter-events)

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch": "torch"}
NOT_DEPENDENCIES = {"python", "pip"}


def normalize(name: str) -> str:
    name = re.split(r"[\s<>=!~\[;@]", name.strip(), maxsplit=1)[0]
    name = re.sub(r"[-_.]+", "-", name).lower()
    return CONDA_TO_PIP.get(name, name)


def pyproject_deps() -> set:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {normalize(d) for d in data["project"]["dependencies"]}


def conda_deps(path: Path) -> tuple:
    """(conda and pip package names, local pip requirements such as `-e .`)."""
    env = yaml.safe_load(path.read_text())
    names, local = set(), []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for req in dep.get("pip", []):
                if req.startswith(("-e", ".", "/")):
                    local.append(req)
                else:
                    names.add(normalize(req))
        else:
            names.add(normalize(str(dep)))
    return names - NOT_DEPENDENCIES, local


@pytest.mark.parametrize("yml", ["environment.yml", "binder/environment.yml"])
def test_environment_files_match_pyproject(yml):
    names, _ = conda_deps(ROOT / yml)
    expected = pyproject_deps()
    assert names - expected == set(), f"{yml} names packages that pyproject.toml lacks"
    assert expected - names == set(), f"{yml} lacks packages that pyproject.toml names"


def test_environment_channels():
    for yml in ("environment.yml", "binder/environment.yml"):
        env = yaml.safe_load((ROOT / yml).read_text())
        assert env.get("channels") == ["conda-forge"], yml


def test_root_environment_installs_robviz_but_binder_does_not():
    # compat mode: the default editable finder lets a kernel started in notebooks/ see an empty namespace.
    assert conda_deps(ROOT / "environment.yml")[1] == ["-e . --config-settings editable_mode=compat"]
    # Binder builds the environment before the repository is in the image.
    assert conda_deps(ROOT / "binder/environment.yml")[1] == []


def test_postbuild_installs_the_package():
    text = (ROOT / "binder/postBuild").read_text()
    assert text.startswith("#!/bin/bash\n")
    assert re.search(r"^set -e", text, re.M)
    assert re.search(r"^pip install --no-deps (-e )?\.$", text, re.M)


def working_tree_copy(dest: Path) -> Path:
    """What a clone of the repository would hold, uncommitted files included."""
    dest.mkdir()
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        shutil.copytree(ROOT, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "__pycache__", "*.egg-info"))
        return dest
    for rel in filter(None, out.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def test_repo2docker_renders_binder_build(tmp_path):
    # --no-build is a dry run: repo2docker prints the Dockerfile and needs
    # neither a container engine nor the network.
    r2d = Path(sys.executable).with_name("repo2docker")
    assert r2d.exists(), "jupyter-repo2docker is missing: pip install -e '.[test]'"
    repo = working_tree_copy(tmp_path / "repo")
    proc = subprocess.run(
        [str(r2d), "--no-build", "--no-run", str(repo)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    dockerfile = proc.stdout
    assert "binder/environment.yml" in dockerfile
    assert "./binder/postBuild" in dockerfile
    assert "binder/start" in dockerfile
