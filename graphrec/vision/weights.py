"""Finding and verifying pretrained weight files, the way torchvision checks its downloads."""

from __future__ import annotations

import os
import re
from pathlib import Path

from graphrec._io import sha256_file
from graphrec._log import get_logger
from graphrec.errors import MissingWeightsError, describe_path

log = get_logger(__name__)

# torchvision/torch.hub name checkpoints "<name>-<first hex digits of sha256>.<ext>".
_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")


def hash_prefix(filename: str) -> str | None:
    """The sha256 prefix encoded in a checkpoint file name, or None if it carries none."""
    match = _HASH_IN_NAME.search(Path(filename).name)
    return match.group(1) if match else None


def verify_weights_file(path: str | os.PathLike[str]) -> str:
    """Check ``path`` against the hash prefix in its own name; return its full sha256.

    A file whose name carries no prefix cannot be checked: it is accepted with a warning (its
    sha256 is still returned for the manifest).
    """
    digest = sha256_file(path)
    prefix = hash_prefix(str(path))
    if prefix is None:
        log.warning("weights file %s has no '-<sha256 prefix>.' in its name; cannot verify it (sha256 %s)", describe_path(path), digest)
    elif not digest.startswith(prefix):
        raise MissingWeightsError(
            f"weights file {describe_path(path)} is corrupt or not the expected file: its name says its sha256 starts "
            f"with {prefix!r} but it is {digest[:len(prefix)]!r} (full {digest}); delete it and download it again."
        )
    return digest


def hub_checkpoint_path(url: str) -> Path:
    """Where torch.hub keeps the download of ``url``: <torch.hub.get_dir()>/checkpoints/<file name>."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url.split("?")[0])
