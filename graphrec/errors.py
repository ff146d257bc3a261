"""Exception types. Every message names the input, what was expected, what was found, and the fix."""

from __future__ import annotations


class GraphrecError(Exception):
    """Base class of every error graphrec raises on purpose."""


class InputError(GraphrecError, ValueError):
    """A user-supplied file or value cannot be used as given."""


class CorpusError(InputError):
    """A song corpus is missing, empty, mis-encoded or lacks required columns."""


class ImageError(InputError):
    """An image cannot be read, decoded or is outside the accepted limits."""


class UnknownKeywordError(InputError, KeyError):
    """A keyword is not in the vocabulary."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class ModelFormatError(GraphrecError):
    """A saved model directory is missing files, has the wrong version or fails its checksums."""


class MissingWeightsError(GraphrecError, FileNotFoundError):
    """Pretrained weights are needed but cannot be found locally or downloaded."""


class BackendUnavailableError(GraphrecError):
    """An optional backend (database, web API, browser) cannot be reached or is not installed."""


def describe_path(path: object) -> str:
    """How an error message shows a path: quoted, so spaces and odd names stay visible."""
    return repr(str(path))
