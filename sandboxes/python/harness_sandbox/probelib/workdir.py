"""The work dir as the tests found it, put back between variants.

Variants run in processes forked from one state, but they share the file system: a file
one variant's tests leave behind (a first-run marker) must not be there for the next.
"""

from __future__ import annotations

import contextlib
import os
import shutil

MAX_KEPT = 8 << 20  # bytes of file contents kept to restore; larger files are not

Files = dict[str, tuple[int, int, bytes | None]]  # relpath -> (size, mtime_ns, contents)


def snapshot(root: str) -> tuple[Files, set[str]]:
    """The files (with their contents, up to MAX_KEPT in all) and dirs under `root`."""
    files: Files = {}
    dirs: set[str] = set()
    kept = 0
    for here, subdirs, names in os.walk(root):
        for name in subdirs:
            dirs.add(os.path.relpath(os.path.join(here, name), root))
        for name in names:
            path = os.path.join(here, name)
            with contextlib.suppress(OSError):
                st = os.lstat(path)
                data = None
                if kept + st.st_size <= MAX_KEPT and not os.path.islink(path):
                    with open(path, "rb") as fh:
                        data = fh.read()
                    kept += len(data)
                files[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns, data)
    return files, dirs


def changed(root: str, before: tuple[Files, set[str]], ignore: str = "\0") -> str | None:
    """A file or dir under `root` made, removed or changed since `before` (its path
    relative to `root`), or None; paths that start with `ignore` do not count."""
    files, dirs = before
    seen_dirs: set[str] = set()
    seen: dict[str, tuple[int, int]] = {}
    for here, subdirs, names in os.walk(root):
        for name in subdirs:
            seen_dirs.add(os.path.relpath(os.path.join(here, name), root))
        for name in names:
            path = os.path.join(here, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            seen[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns)
    for rel in sorted(seen_dirs ^ dirs):
        if not rel.startswith(ignore):
            return rel
    for rel in sorted(seen.keys() | files.keys()):
        if rel.startswith(ignore):
            continue
        if rel not in seen or rel not in files or seen[rel] != files[rel][:2]:
            return rel
    return None


def restore(root: str, before: tuple[Files, set[str]]) -> None:
    """Remove what was made under `root` since `before`, rewrite what was changed."""
    files, dirs = before
    for here, subdirs, names in os.walk(root):
        for name in list(subdirs):
            path = os.path.join(here, name)
            if os.path.relpath(path, root) not in dirs:
                subdirs.remove(name)
                shutil.rmtree(path, ignore_errors=True)
                with contextlib.suppress(OSError):
                    os.unlink(path)  # a symlink to a dir
        for name in names:
            path = os.path.join(here, name)
            was = files.get(os.path.relpath(path, root))
            with contextlib.suppress(OSError):
                if was is None:
                    os.unlink(path)
                    continue
                st = os.lstat(path)
                if (st.st_size, st.st_mtime_ns) != was[:2] and was[2] is not None:
                    with open(path, "wb") as fh:
                        fh.write(was[2])
    for rel, (_size, _mtime, data) in files.items():  # files the tests removed
        path = os.path.join(root, rel)
        if data is not None and not os.path.lexists(path):
            with contextlib.suppress(OSError):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as fh:
                    fh.write(data)
