"""Files at rest beside the database: ``<data_dir>/uploads/<32 random hex>``, mode 0600,
in a 0700 folder outside every served path (certification licences, template
recordings). The name on disk is never the uploader's; the row that refers to a file
keeps what the face needs to know about it."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

__all__ = ["FOLDER", "delete_upload", "read_upload", "save_upload", "upload_path"]

FOLDER = "uploads"
_REF = re.compile(r"[0-9a-f]{32}")


def save_upload(data_dir: Path, data: bytes) -> str:
    """Write ``data`` under a fresh random reference (never replacing a file); the reference."""
    folder = data_dir / FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    ref = secrets.token_hex(16)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(folder / ref, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except BaseException:
        delete_upload(data_dir, ref)
        raise
    return ref


def upload_path(data_dir: Path, ref: str) -> Path | None:
    """The file of ``ref`` (None for anything that is not a reference we make)."""
    return data_dir / FOLDER / ref if _REF.fullmatch(ref) else None


def read_upload(data_dir: Path, ref: str) -> bytes | None:
    path = upload_path(data_dir, ref)
    if path is None:
        return None
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def delete_upload(data_dir: Path, ref: str) -> None:
    path = upload_path(data_dir, ref)
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
