"""The album-cover lab: cover similarity, genre from cover art, genre from image tags."""

from graphrec.covers.data import CoverSet, read_cover_folder
from graphrec.covers.descriptors import cover_features, default_cache_dir, describe_covers

__all__ = ["CoverSet", "cover_features", "default_cache_dir", "describe_covers", "read_cover_folder"]
