"""Building the sandbox image, with or without a container registry.

The image tag is a hash of the recipe (Dockerfile, pinned requirements, the
harness_sandbox package, found wherever that package is installed),
so a build is skipped when the image for the same recipe already exists. Where no
registry can be reached, the base is bootstrapped from Debian packages with the host's
own apt sources (mmdebstrap, then `docker import`), and the Python packages come from
wheels the host downloads into the build context.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import docker.errors

from harness.errors import ImageBuildError, ImageMissing
from harness.sandbox.docker_io import client

log = logging.getLogger(__name__)

IMAGE_REPO = "harness-sandbox"
BASE_REPO = "harness-base"
DEFAULT_BASE = "python:3.11-slim"
DEBIAN_PACKAGES = ("python3", "python3-venv")
PACKAGE = "harness_sandbox"
RECIPE_FILES = ("Dockerfile", "requirements.txt")
EXTRAS_FILE = "extra-requirements.txt"  # written into the build context: --with, --requirements
PACKAGES_LABEL = "harness.packages"  # JSON name -> version of every package an image holds
BUNDLED = "_recipe"  # where a built wheel keeps RECIPE_FILES inside the package (setup.py)

Say = Callable[[str], None]


@dataclass(frozen=True)
class Recipe:
    """The image's recipe: the Dockerfile, the pinned requirements, the sandbox package.

    From a checkout they are sandboxes/python/{Dockerfile,requirements.txt,harness_sandbox};
    from an installed wheel, the package and its `_recipe/` copy of the two files.
    """

    dockerfile: Path
    requirements: Path
    package: Path

    @classmethod
    def locate(cls) -> Recipe:
        """The recipe of the installed `harness_sandbox`; ImageBuildError when incomplete."""
        package = Path(str(importlib.resources.files(PACKAGE)))
        folder = package / BUNDLED
        if not (folder / "Dockerfile").is_file():
            folder = package.parent  # a checkout: the package sits in its recipe directory
        recipe = cls(folder / "Dockerfile", folder / "requirements.txt", package)
        if not (recipe.dockerfile.is_file() and recipe.requirements.is_file()):
            raise ImageBuildError(
                f"the sandbox recipe is incomplete (no {recipe.dockerfile} or "
                f"{recipe.requirements}): reinstall the harness (`pip install .`)"
            )
        return recipe

    def package_files(self) -> list[Path]:
        """The package's files that go into the image, in a stable order.

        Caches that tools running beside the package leave (.hypothesis, __pycache__) are
        not part of it: they would change the image's tag and end up inside it.
        """
        return sorted(
            p for p in self.package.rglob("*")
            if p.is_file() and not any(
                part in ("__pycache__", BUNDLED) or part.startswith(".")
                for part in p.relative_to(self.package).parts)
            and not p.name.endswith(".pyc")
        )

    def entries(self) -> list[tuple[str, Path]]:
        """(name in the build context, file) for every file of the recipe."""
        return [("Dockerfile", self.dockerfile), ("requirements.txt", self.requirements),
                *((f"{PACKAGE}/{p.relative_to(self.package).as_posix()}", p)
                  for p in self.package_files())]

    def fill(self, ctx: Path) -> None:
        """Copy the recipe into a build context."""
        for name, path in self.entries():
            (ctx / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, ctx / name)


def recipe_hash() -> str:
    """Hash of everything that goes into the image besides the base."""
    digest = hashlib.sha256()
    for name, path in Recipe.locate().entries():
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def image_tag(extras: Sequence[str] = ()) -> str:
    """The tag of the recipe's image, with `extras` (requirement specifiers) installed."""
    tag = f"{IMAGE_REPO}:{recipe_hash()}"
    wanted = normalized_extras(extras)
    if wanted:
        tag += "-x" + hashlib.sha256("\n".join(wanted).encode()).hexdigest()[:10]
    return tag


def normalized_extras(extras: Sequence[str]) -> list[str]:
    """Requirement specifiers, stripped, deduplicated and sorted (so the tag is stable)."""
    return sorted({e.strip() for e in extras if e.strip() and not e.strip().startswith("#")})


def read_requirements(path: str) -> list[str]:
    """The requirement lines of a requirements file (comments and options dropped)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise ImageBuildError(f"cannot read the requirements file {path}: {exc}") from exc
    return [ln.split("#", 1)[0].strip() for ln in lines
            if ln.split("#", 1)[0].strip() and not ln.lstrip().startswith("-")]


def image_packages(tag: str) -> dict[str, str]:
    """The packages an image was built with (name -> version), from its label."""
    labels = client().images.get(tag).labels or {}
    try:
        found = json.loads(labels.get(PACKAGES_LABEL) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def require_image() -> str:
    """The tag of the current recipe's image; raises ImageMissing with the fix."""
    tag = image_tag()
    try:
        client().images.get(tag)
    except docker.errors.ImageNotFound as exc:
        raise ImageMissing(
            f"the sandbox image {tag} is not built: run `harness sandbox build`"
        ) from exc
    return tag


def image_id(tag: str) -> str:
    return str(client().images.get(tag).id)


def build(base: str = "auto", force: bool = False, say: Say = print,
          extras: Sequence[str] = ()) -> str:
    """Build the sandbox image unless it already exists; returns its tag.

    `extras` are requirement specifiers (`numpy`, `pandas==2.2.3`) installed beside the
    sandbox's own packages, from wheels downloaded on the host: the build has no network.
    """
    wanted = normalized_extras(extras)
    tag = image_tag(wanted)
    docker_client = client()
    if not force:
        try:
            docker_client.images.get(tag)
            say(f"sandbox image {tag} is up to date")
            return tag
        except docker.errors.ImageNotFound:
            pass
    base_image = resolve_base(base, say)
    python_version, machine = _base_python(base_image)
    say(f"base {base_image}: Python {python_version} on {machine}")
    with tempfile.TemporaryDirectory(prefix="harness-build-") as ctx_dir:
        ctx = Path(ctx_dir)
        Recipe.locate().fill(ctx)
        (ctx / EXTRAS_FILE).write_text("".join(f"{e}\n" for e in wanted))
        _download_wheels(ctx / "wheels", python_version, machine, say, ctx / EXTRAS_FILE)
        packages = _wheel_versions(ctx / "wheels")
        say(f"building {tag} (no network inside the build)")
        try:
            docker_client.images.build(
                path=str(ctx), tag=tag, buildargs={"BASE": base_image}, network_mode="none",
                rm=True, forcerm=True, pull=False,
                labels={"harness.recipe": recipe_hash(), "harness.base": base_image,
                        PACKAGES_LABEL: json.dumps(packages, sort_keys=True)},
            )
        except docker.errors.BuildError as exc:
            lines = [str(c.get("stream", c.get("error", ""))) for c in exc.build_log]
            raise ImageBuildError(
                "building the sandbox image failed:\n" + "".join(lines)[-3000:]
            ) from exc
    say(f"built {tag} ({image_id(tag)[:19]})")
    return tag


def resolve_base(base: str, say: Say) -> str:
    """`auto`: the official slim image if present locally, else a Debian bootstrap."""
    docker_client = client()
    if base == "debian":
        return bootstrap_debian_base(say)
    if base == "auto":
        try:
            docker_client.images.get(DEFAULT_BASE)
            return DEFAULT_BASE
        except docker.errors.ImageNotFound:
            say(f"{DEFAULT_BASE} is not present; bootstrapping a base from Debian packages")
            return bootstrap_debian_base(say)
    try:
        docker_client.images.get(base)
    except docker.errors.ImageNotFound:
        say(f"pulling {base}")
        try:
            docker_client.images.pull(base)
        except docker.errors.APIError as exc:
            raise ImageBuildError(
                f"base image {base} is not present and cannot be pulled ({exc}); "
                "use `--base debian` to bootstrap one from Debian packages"
            ) from exc
    return base


def _os_release() -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            key, _, value = line.partition("=")
            out[key] = value.strip().strip('"')
    except OSError:
        pass
    return out


def apt_sources(suite: str) -> list[Path]:
    """The host's active apt source files that serve `suite` (no mirror is hard-coded)."""
    found = []
    candidates = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in candidates:
        if path.suffix not in (".list", ".sources") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        active = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if any(suite in ln for ln in active):
            found.append(path)
    return found


def bootstrap_debian_base(say: Say) -> str:
    """Build (once) a minimal Debian root with Python from the host's apt sources."""
    release = _os_release()
    suite = release.get("VERSION_CODENAME", "")
    if not suite or release.get("ID") not in ("debian", "ubuntu"):
        raise ImageBuildError(
            "cannot bootstrap a base image: this host is not Debian or Ubuntu. Pull an image "
            f"with Python 3.11 (e.g. `docker pull {DEFAULT_BASE}`) and pass `--base` with it"
        )
    sources = apt_sources(suite)
    if not sources:
        raise ImageBuildError(f"no apt source on this host serves {suite}; check /etc/apt")
    key = hashlib.sha256(
        json.dumps([suite, DEBIAN_PACKAGES, [p.read_text() for p in sources]]).encode()
    ).hexdigest()[:12]
    tag = f"{BASE_REPO}:{suite}-{key}"
    docker_client = client()
    try:
        docker_client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    tool = shutil.which("mmdebstrap")
    if tool is None:
        raise ImageBuildError(
            "mmdebstrap is needed to bootstrap the base image: `apt-get install -y mmdebstrap` "
            f"(or pull {DEFAULT_BASE} and pass `--base {DEFAULT_BASE}`)"
        )
    with tempfile.TemporaryDirectory(prefix="harness-base-") as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        cmd = [tool, "--variant=minbase", "--mode=" + ("root" if os.geteuid() == 0 else "auto"),
               "--include=" + ",".join(DEBIAN_PACKAGES), "--dpkgopt=path-exclude=/usr/share/doc/*",
               "--dpkgopt=path-exclude=/usr/share/man/*", suite, str(tarball),
               *[str(p) for p in sources]]
        say("bootstrapping " + " ".join(cmd))
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ImageBuildError("mmdebstrap failed:\n" + proc.stderr[-3000:])
        say(f"importing the root file system as {tag}")
        repo, _, version = tag.partition(":")
        with open(tarball, "rb") as fh:
            docker_client.api.import_image_from_data(fh, repository=repo, tag=version)
    return tag


def _base_python(base_image: str) -> tuple[str, str]:
    probe = "import platform,sys; print('%d.%d' % sys.version_info[:2], platform.machine())"
    try:
        out = client().containers.run(
            base_image, ["python3", "-c", probe], remove=True, network_mode="none"
        )
    except docker.errors.APIError as exc:
        raise ImageBuildError(f"base image {base_image} has no working python3: {exc}") from exc
    version, machine = out.decode().split()
    return version, machine


def _wheel_versions(folder: Path) -> dict[str, str]:
    """name -> version of every downloaded wheel: the image's whole package set."""
    out = {}
    for wheel in folder.glob("*.whl"):
        name, version = wheel.name.split("-")[:2]
        out[name.lower().replace("_", "-")] = version
    return out


def _download_wheels(dest: Path, python_version: str, machine: str, say: Say,
                     extras_file: Path | None = None) -> None:
    dest.mkdir()
    reqs = Recipe.locate().requirements
    more = ["-r", str(extras_file)] if extras_file and extras_file.read_text().strip() else []
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--only-binary=:all:", "--implementation", "cp", "--python-version", python_version,
           "--platform", f"manylinux_2_28_{machine}", "--platform", f"manylinux2014_{machine}",
           "--platform", f"manylinux_2_17_{machine}", "--platform", "any", "-d", str(dest),
           "-r", str(reqs), *more]
    say(f"downloading wheels for Python {python_version} ({reqs.name}"
        f"{' + ' + ', '.join(extras_file.read_text().split()) if more and extras_file else ''})")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ImageBuildError(
            "downloading the sandbox's wheels failed (is PyPI reachable?):\n" + proc.stderr[-3000:]
        )
