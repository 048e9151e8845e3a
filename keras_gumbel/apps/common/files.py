"""Writing files atomically: nothing is ever half-written; and the checks
that a command's folders can be written and do not overlap, made before any
work."""

import contextlib
import json
import os
import tempfile

__all__ = ["atomic_path", "check_apart", "check_writable_folder", "write_json", "write_text"]


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path next to `path`; renames it to `path` if the
    block succeeds, deletes it if it raises.

    The temporary file is in the same folder (created if needed), so the
    final `os.replace` is atomic, and it keeps every suffix of `path`
    (`model.save` wants `.keras`, `model.save_weights` `.weights.h5`). Readers see the old file or the new one,
    never a partial one.

    Example:

    >>> with atomic_path("out/model.keras") as tmp:
    ...     model.save(tmp)
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(path)
    # Every suffix ("x.weights.h5" -> ".weights.h5"); a leading dot is the name's.
    first = name.find(".", 1)
    suffix = name[first:] if first > 0 else ""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; outputs are for sharing
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path, text):
    """Writes `text` (UTF-8) to `path` atomically; returns `path`."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return path


def write_json(path, obj):
    """Writes `obj` as indented JSON to `path` atomically; returns `path`."""
    return write_text(path, json.dumps(obj, indent=2) + "\n")


def _real(path):
    return os.path.normcase(os.path.realpath(os.fspath(path)))


def check_apart(path, name, other, other_name):
    """`path`, or a `ValueError` if it is, contains or lies inside `other`.

    Both are compared as real paths (`os.path.realpath`: symbolic links and
    `..` resolved, relative paths taken from the current folder), so a link
    to a folder is that folder. A command that replaces `path` (an export
    with overwrite, a folder written afresh) calls it with the folder or
    file it must not destroy: the run's own output folder, the model it
    exports. Either may not exist yet.

    Example:

    >>> check_apart("out/r", "export_dir", "out/r/run", "output_dir")
    ValueError: export_dir must lie apart from output_dir (neither the same ...
    """
    a, b = _real(path), _real(other)
    if os.path.commonpath([a, b]) in (a, b):
        raise ValueError(
            f"{name} must lie apart from {other_name} (neither the same path "
            f"nor one inside the other: writing {name} replaces it whole), "
            f"received {name}={os.fspath(path)!r}, {other_name}={os.fspath(other)!r}"
        )
    return path


def check_writable_folder(path, name):
    """`path`, or a `ValueError` naming it unless it is a folder this process
    can write, or can be created as one.

    Nothing is created: the check walks up to the nearest existing folder
    and proves it writable by creating and deleting a temporary file in it
    (a real write, so it also holds for root, for whom `os.access` is always
    true, and on read-only file systems). An existing file on the way (the
    path itself or a parent) is refused.
    """
    path = os.fspath(path)
    target = os.path.realpath(path)  # through symbolic links, even dangling ones
    probe = target
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        where = "is a file" if probe == target else f"lies under {probe!r}, a file"
        raise ValueError(
            f"{name} must be a folder (created if needed), received {name}={path!r}, "
            f"which {where}"
        )
    try:
        fd, tmp = tempfile.mkstemp(dir=probe, prefix=".write-test-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as error:
        raise ValueError(
            f"{name} must be a folder this process can write, received "
            f"{name}={path!r}, but {probe!r} cannot be written ({error.strerror})"
        ) from None
    return path
