"""Uploaded files at rest (store/files.py): ``<data_dir>/uploads/<32 random hex>``, mode
0600, in a 0700 folder outside every served path. The name on disk is never the
customer's; the row that refers to a file keeps the (cleaned) original name, the sniffed
type and the size."""

from __future__ import annotations

import unicodedata

from voiceotp.store.files import delete_upload, read_upload, save_upload, upload_path

__all__ = ["clean_file_name", "delete_upload", "read_upload", "save_upload", "upload_path"]

_FORBIDDEN = set('/\\:*?"<>|')


def clean_file_name(name: str, extension: str) -> str:
    """The last part of a client's file name, without control or path characters, at
    most 100 characters; ``licence.<extension>`` when nothing is left."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        c for c in base if c not in _FORBIDDEN and not unicodedata.category(c).startswith("C")
    )
    kept = " ".join(kept.split()).lstrip(".")[:100]
    return kept or f"licence.{extension}"
