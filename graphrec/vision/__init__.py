"""graphrec.vision: image loading and featurizers (torch is imported only by the models that need it)."""

from graphrec.vision.base import BaseFeaturizer, FeatureBatch, Featurizer
from graphrec.vision.extract import extract_features
from graphrec.vision.io import DEFAULT_MAX_PIXELS, ImageNotFoundError, load_image
from graphrec.vision.registry import DEFAULT_FEATURIZER, FEATURIZERS, get_featurizer, parse_spec

__all__ = [
    "DEFAULT_FEATURIZER",
    "DEFAULT_MAX_PIXELS",
    "FEATURIZERS",
    "BaseFeaturizer",
    "FeatureBatch",
    "Featurizer",
    "ImageNotFoundError",
    "extract_features",
    "get_featurizer",
    "load_image",
    "parse_spec",
]
