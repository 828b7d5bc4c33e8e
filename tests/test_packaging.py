"""pyproject.toml, environment.yml and binder/ describe one and the same environment."""

import importlib.util
import json
import os
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
    # compat mode: the default editable finder lets a kernel started in notebooks/ see an empty
    # namespace.
    assert conda_deps(ROOT / "environment.yml")[1] == [
        "-e . --config-settings editable_mode=compat"
    ]
    # Binder builds the environment before the repository is in the image.
    assert conda_deps(ROOT / "binder/environment.yml")[1] == []


def test_postbuild_installs_the_package():
    text = (ROOT / "binder/postBuild").read_text()
    assert text.startswith("#!/bin/bash\n")
    assert re.search(r"^set -e", text, re.M)
    assert re.search(r"^pip install --no-deps (-e )?\.$", text, re.M)


def test_binder_opens_the_student_lessons_that_postbuild_writes(tmp_path):
    """The badge opens lessons/, written by postBuild with exercises unanswered, as `tasks.py lab`.

    The test runs postBuild's own line in a copy of the notebooks and finds the start-here lesson
    the badge names.
    """
    badge = re.search(
        r"mybinder\.org/v2/gh/\S+\?labpath=([^)\s]+)", (ROOT / "README.md").read_text()
    )
    assert badge, "the README has no Binder badge"
    labpath = badge.group(1).replace("%2F", "/")
    assert labpath.startswith("lessons/"), f"the Binder badge opens {labpath}, the solved lessons"
    line = next(
        line
        for line in (ROOT / "binder/postBuild").read_text().splitlines()
        if "write_lab_versions" in line
    )
    shutil.copytree(
        ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("runs", ".*")
    )
    subprocess.run(
        ["bash", "-c", line.replace("python ", f"{sys.executable} ", 1)], cwd=tmp_path, check=True
    )
    opened = json.loads((tmp_path / labpath).read_text())
    sources = ["".join(cell["source"]) for cell in opened["cells"]]
    assert not any("### BEGIN SOLUTION" in source for source in sources), (
        "the student lesson shows solutions"
    )


def _tasks():
    spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    return tasks


def _binder_start(command: list, tmp_path: Path, **env) -> subprocess.CompletedProcess:
    """``command`` run via binder/start from another folder, with no user Jupyter configuration."""
    base = {key: value for key, value in os.environ.items() if key != "JUPYTER_CONFIG_PATH"}
    base.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **env,
    )
    result = subprocess.run(
        ["bash", str(ROOT / "binder" / "start"), *map(str, command)],
        cwd=tmp_path,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_binder_start_uses_the_student_configuration_of_tasks_lab(tmp_path):
    """Binder's students see what `tasks.py lab`'s see: the same folder leads JUPYTER_CONFIG_PATH.

    The folder is found from the script (a path relative to the repository, wherever it is cloned),
    and a configuration already there is kept.
    """
    tasks = _tasks()
    text = (ROOT / "binder" / "start").read_text()
    assert tasks.STUDENT_CONFIG.relative_to(tasks.ROOT).as_posix() in text
    assert str(ROOT) not in text and 'exec "$@"' in text
    show = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]
    env = json.loads(_binder_start(show, tmp_path, JUPYTER_CONFIG_PATH="/elsewhere").stdout)
    first, *rest = env["JUPYTER_CONFIG_PATH"].split(os.pathsep)
    assert Path(first).resolve() == tasks.STUDENT_CONFIG.resolve() and rest == ["/elsewhere"]
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    env = json.loads(_binder_start(show, tmp_path).stdout)
    assert [Path(p).resolve() for p in env["JUPYTER_CONFIG_PATH"].split(os.pathsep)] == [
        tasks.STUDENT_CONFIG.resolve()
    ]


@pytest.mark.slow
def test_jupyterlab_started_by_binder_start_hides_nbgrader_and_culls_idle_kernels(tmp_path):
    """What JupyterLab itself reads with binder/start's environment.

    It is read from its --show-config and its labextension list.
    """
    config = tmp_path / "config"
    config.mkdir()
    shown = _binder_start(
        [sys.executable, "-m", "jupyter", "lab", "--show-config"], tmp_path
    ).stdout
    assert "Loaded config files:" in shown, "JupyterLab read no configuration file"
    loaded = shown.split("Loaded config files:")[1].split("\n\n")[0].split()
    assert [Path(p).resolve() for p in loaded] == [
        (_tasks().STUDENT_CONFIG / "jupyter_server_config.json").resolve()
    ]
    servers = dict(re.findall(r"'(nbgrader\.server_extensions\.\w+)': (True|False)", shown))
    assert servers and set(servers.values()) == {"False"}, servers
    manager = shown.split("\nMappingKernelManager\n")[1].split("\n", 4)[:4]
    expected = _tasks().cull_settings()
    assert {line.split("=")[0].strip(" ."): line.split("=")[1].strip() for line in manager} == {
        name: str(value) for name, value in expected.items()
    }
    listed = _binder_start([sys.executable, "-m", "jupyter", "labextension", "list"], tmp_path)
    lab = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)
    assert re.search(r"@jupyter/nbgrader v\S+ disabled", lab), lab


def working_tree_copy(dest: Path) -> Path:
    """What a clone of the repository would hold, uncommitted files included."""
    dest.mkdir()
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        shutil.copytree(
            ROOT,
            dest,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", "*.egg-info"),
        )
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
    # tasks.py test puts the test tools' commands on PATH; a plain environment has it beside python
    found = shutil.which("repo2docker") or Path(sys.executable).with_name("repo2docker")
    r2d = Path(found)
    assert r2d.exists(), "jupyter-repo2docker is missing: python3 tasks.py test installs it"
    repo = working_tree_copy(tmp_path / "repo")
    proc = subprocess.run(
        [str(r2d), "--no-build", "--no-run", str(repo)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    dockerfile = proc.stdout
    assert "binder/environment.yml" in dockerfile
    assert "./binder/postBuild" in dockerfile
    assert "binder/start" in dockerfile
