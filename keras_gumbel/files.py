"""Writing files atomically: nothing is ever half-written."""

import contextlib
import json
import os
import tempfile

__all__ = ["atomic_path", "write_json", "write_text"]


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path next to `path`; renames it to `path` if the
    block succeeds, deletes it if it raises.

    The temporary file is in the same folder (created if needed), so the
    final `os.replace` is atomic, and it keeps the extension of `path`
    (`model.save` wants `.keras`). Readers see the old file or the new one,
    never a partial one.

    Example:

    >>> with atomic_path("out/model.keras") as tmp:
    ...     model.save(tmp)
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = os.path.splitext(path)[1]
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
