"""Fast checks of the desktop-bundle recipe (packaging/); the build itself is a release check
(packaging/README.md) because it takes minutes and downloads the runtime wheels."""

from __future__ import annotations

import configparser
import importlib.util
import re
import shutil
import struct
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_build_script_references_files_that_exist() -> None:
    script = (PACKAGING / "build.sh").read_text(encoding="utf-8")
    refs = set(re.findall(r"\$STAGE/src/(packaging/[\w./-]+)", script))
    refs |= set(re.findall(r"\$REPO/(packaging/[\w./-]+)", script))
    assert "packaging/limelight.spec" in refs and "packaging/smoke_check.py" in refs
    refs = {r for r in refs if not r.endswith("-")}  # "limelight-$size.png": checked below
    missing = sorted(r for r in refs if not (REPO / r).exists())
    assert not missing, f"build.sh names files that do not exist: {missing}"
    for size in re.search(r"for size in ([\d ]+); do", script).group(1).split():  # type: ignore[union-attr]
        assert (PACKAGING / "icons" / f"limelight-{size}.png").is_file()


def test_spec_builds_the_programs_pyproject_declares() -> None:
    spec = (PACKAGING / "limelight.spec").read_text(encoding="utf-8")
    assert 'entry_points("console_scripts")' in spec and 'entry_points("gui_scripts")' in spec
    assert PYPROJECT["project"]["scripts"] == {"limelight": "limelight.cli:main"}
    assert "limelight-editor" in PYPROJECT["project"]["gui-scripts"]
    # The shipped programs check_bundle.py insists on are exactly the declared ones.
    check = _load("check_bundle")
    declared = set(PYPROJECT["project"]["scripts"]) | set(PYPROJECT["project"]["gui-scripts"])
    assert declared == set(check.PROGRAMS)
    for excluded in ("torch", "limelight_models", "tests", "pytest", "onnx"):
        assert f'"{excluded}"' in spec, f"the spec does not exclude {excluded}"
        assert excluded in check.FORBIDDEN_DIRS


def test_desktop_entry_is_valid() -> None:
    path = PACKAGING / "limelight.desktop"
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "Limelight"
    assert entry["Exec"].split()[0] in PYPROJECT["project"]["gui-scripts"]
    assert entry["Icon"] == "limelight" and entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";") and "Graphics" in entry["Categories"].split(";")
    assert all(m.startswith("image/") for m in entry["MimeType"].rstrip(";").split(";"))
    validator = shutil.which("desktop-file-validate")
    if validator:  # the reference validator, where installed (desktop-file-utils)
        proc = subprocess.run([validator, str(path)], capture_output=True, text=True)
        assert proc.returncode == 0 and "error" not in proc.stdout, proc.stdout


def test_icons_are_rendered_from_one_svg() -> None:
    svg = PACKAGING / "icons" / "limelight.svg"
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 256 256"
    for size in (256, 128, 64, 48):
        assert png_size(PACKAGING / "icons" / f"limelight-{size}.png") == (size, size)
    # The editor's window icon is the same artwork, shipped in resources/.
    assert (REPO / "resources" / "icons" / "limelight.svg").read_bytes() == svg.read_bytes()
    assert png_size(REPO / "resources" / "icons" / "limelight.png") == (256, 256)


def test_version_is_defined_once() -> None:
    ver = PYPROJECT["project"]["version"]
    assert version("limelight") == ver
    import limelight

    assert limelight.__version__ == ver
    literal = re.compile(rf"""["']{re.escape(ver)}["']""")
    offenders = [
        str(p.relative_to(REPO))
        for folder in ("app", "packaging")
        for p in (REPO / folder).rglob("*")
        if p.suffix in {".py", ".sh", ".spec", ".desktop", ".toml", ".cfg"} and p.is_file()
        and literal.search(p.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not offenders, f"a version literal outside pyproject.toml: {offenders}"
    # The build reads the archive name's version from pyproject.toml.
    script = (PACKAGING / "build.sh").read_text(encoding="utf-8")
    assert 'tomllib.load' in script and '"$NAME-linux-x86_64.tar.gz"' in script


def test_bundle_check_flags_training_code_and_missing_parts(tmp_path: Path) -> None:
    check = _load("check_bundle")
    bundle = tmp_path / "limelight-0"
    internal = bundle / "_internal"
    (internal / "torch").mkdir(parents=True)
    (internal / "torch" / "__init__.pyc").write_bytes(b"")
    (internal / "limelight_models").mkdir()
    (internal / "limelight_models" / "x.pyc").write_bytes(b"")
    (bundle / "limelight").write_bytes(b"")
    problems = "\n".join(check.check_files(bundle, cuda=False))
    assert "torch" in problems and "limelight_models" in problems
    assert "limelight-editor is missing" in problems and "libqxcb.so is missing" in problems
    toc = tmp_path / "PYZ-00.toc"
    toc.write_text("[('limelight.cli', 'x', 'PYMODULE'), ('torch.nn', 'y', 'PYMODULE'),"
                   " ('bench.tinyzoo', 'z', 'PYMODULE'), ('onnxruntime', 'w', 'PYMODULE')]")
    assert check.check_pyz(toc) == ["forbidden module frozen: bench.tinyzoo",
                                    "forbidden module frozen: torch.nn"]


def test_smoke_check_reads_jpeg_size(tmp_path: Path) -> None:
    from PIL import Image

    smoke = _load("smoke_check")
    Image.new("RGB", (37, 21), (10, 20, 30)).save(tmp_path / "a.jpg", quality=90)
    Image.new("RGB", (37, 21)).save(tmp_path / "a.png")
    assert smoke.jpeg_size(tmp_path / "a.jpg") == (37, 21)
    assert smoke.jpeg_size(tmp_path / "a.png") is None
    empty_bundle = tmp_path / "b"
    (empty_bundle / "_internal").mkdir(parents=True)
    result = smoke.check_zoo(empty_bundle)
    assert not result.ok and "ships NO model" in result.detail


@pytest.mark.parametrize("name", ["build.sh", "linux/install.sh"])
def test_shell_scripts_parse(name: str) -> None:
    proc = subprocess.run(["bash", "-n", str(PACKAGING / name)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
