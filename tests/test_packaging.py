"""The installed package (wheel, scrapyd egg, Docker image) carries all it needs.

pyproject.toml lists packages explicitly (sql/ ships as ctforeclosure.migrations), so a
new sub-package that is not listed would be missing from every install but the
editable one the tests run from.
"""

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _declared_packages() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(pyproject["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_declared_in_pyproject():
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("ctforeclosure", "webui")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found - _declared_packages() == set()


def test_wheel_holds_package_data_migrations_and_templates(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("ctforeclosure-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "ctforeclosure/data/ct_towns.csv" in names
    assert "ctforeclosure/migrations/env.py" in names
    assert "ctforeclosure/migrations/script.py.mako" in names
    versions = {n for n in names if n.startswith("ctforeclosure/migrations/versions/")}
    on_disk = {p.name for p in (ROOT / "sql" / "versions").glob("[0-9]*.py")}
    assert {Path(n).name for n in versions} >= on_disk
    assert "webui/templates/base.html" in names
    assert not [n for n in names if n.startswith("tests/")]


def test_ci_runs_the_readme_two_commands_section_test_command():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## On a fresh machine: two commands", 1)[1]
    section = section.split("\n## ")[0]
    blocks = [b.split("```", 1)[0].strip() for b in section.split("```sh\n")[1:]]
    assert len(blocks) == 2, "README shows two commands, one per block"
    main_job, tests = blocks
    assert (ROOT / main_job).is_file() and (ROOT / tests).is_file()
    ci_run = (ROOT / ".ci" / "run").read_text()
    ci_lines = [line.strip() for line in ci_run.splitlines()]
    assert tests in ci_lines  # run as a command of its own, not only mentioned
