"""Get the course's latest version without losing the notebooks a student ran, edited and saved.

Running a notebook in JupyterLab and saving it changes a file git tracks (outputs, edits, and its paired ``.py``),
so a plain ``git pull`` stops with "Your local changes would be overwritten". ``zoomcamp update`` (``make update``)
keeps each changed notebook as ``my_<name>`` beside the course's version (git ignores ``week_*/my_*``; the kernel
runs it from the same folder, so its relative paths still work), puts the course's version back, then pulls.
Other files a student changed stay where they are: git's ``--autostash`` sets them aside and re-applies them.

>>> from zoomcamp import update
>>> update.update()        # [Kept('week_1_basics/01_data_and_stack.ipynb', 'week_1_basics/my_01_data_and_stack.ipynb')]
"""

from __future__ import annotations

import filecmp
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import CourseError
from .settings import project_root

# A course notebook or its jupytext text form: week_N_.../NN_name.ipynb or .py (a week's scripts have no NN_ prefix).
NOTEBOOK = re.compile(r"^week_\d+_[^/]+/\d\d_[^/]+\.(ipynb|py)$")
COPY_PREFIX = "my_"


class UpdateRefused(CourseError, RuntimeError):
    pass


@dataclass(frozen=True)
class Kept:
    """A notebook the student changed (``original``, relative to the checkout) and where their version now is."""
    original: str
    copy: str


def changed_notebooks(root: Path) -> list[str]:
    """Tracked notebooks (and their text forms) that differ from the last commit, relative to ``root``."""
    listed = _git(root, "diff", "--name-only", "HEAD", "--", "week_*").splitlines()
    return sorted(path for path in listed if NOTEBOOK.match(path) and (root / path).exists())


def keep_copy(root: Path, relative: str) -> Path:
    """Copy ``week_X/NN_name.ipynb`` to ``week_X/my_NN_name.ipynb`` (``my_NN_name-2.ipynb`` ... if a different one is
    already there; the same content is not copied twice)."""
    source = root / relative
    name, suffix = source.name.removesuffix(source.suffix), source.suffix
    for n in range(1, 1000):
        target = source.with_name(f"{COPY_PREFIX}{name}{'' if n == 1 else f'-{n}'}{suffix}")
        if not target.exists():
            shutil.copy2(source, target)
            return target
        if filecmp.cmp(source, target, shallow=False):
            return target
    raise UpdateRefused(f"update: too many copies of {relative}; remove some {COPY_PREFIX}* files in its folder")


def update(root: Path | None = None, pull: bool = True) -> list[Kept]:
    """Keep the student's changed notebooks as ``my_*`` copies, restore the course's versions, then ``git pull``."""
    root = Path(root or project_root())
    if not (root / ".git").exists():
        raise UpdateRefused(f"update: {root} is not a git clone of the course; download the new version instead")
    if _git(root, "ls-files", "--unmerged").strip():
        raise UpdateRefused("update: git has a merge in progress here; finish it (git status says how) and run again")
    kept = []
    for relative in changed_notebooks(root):
        kept.append(Kept(relative, keep_copy(root, relative).relative_to(root).as_posix()))
    if kept:  # every copy is written before any original is touched
        _git(root, "checkout", "HEAD", "--", *(k.original for k in kept))
    if pull:
        _git(root, "pull", "--ff-only", "--autostash", "--quiet", what="git pull")
    return kept


def _git(root: Path, *args: str, what: str = "git") -> str:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise UpdateRefused("update: git is not installed (sudo apt-get install git, or brew install git)") from None
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        hint = ""
        if any("Not possible to fast-forward" in line or "diverging" in line for line in lines):
            hint = ("; your branch has commits of its own: "
                    "git pull --rebase (or work on a branch of your own and keep main as the course's)")
        detail = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[-1] if lines else "")
        raise UpdateRefused(f"update: {what} failed: {detail}{hint}")
    return done.stdout
