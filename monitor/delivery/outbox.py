"""The outbox: digests written as .eml files when no SMTP server is configured."""

from __future__ import annotations

import os
import re
from pathlib import Path


def write(folder: Path, name: str, message: bytes) -> Path:
    """Write atomically (temporary file, then rename): a crash never leaves half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^\w.-]+", "_", name).strip("_") or "digest"
    path = folder / f"{safe}.eml"
    temporary = folder / f".{safe}.eml.tmp"
    with open(temporary, "wb") as handle:
        handle.write(message)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path
