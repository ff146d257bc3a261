"""``get_featurizer(spec)``: build a featurizer from its name, or a ``+``-combination of names."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from graphrec.errors import InputError
from graphrec.vision.base import BaseFeaturizer

DEFAULT_FEATURIZER = "efficientnet_lite0"


def _efficientnet(**kwargs: Any) -> BaseFeaturizer:
    from graphrec.vision.efficientnet import EfficientNetLite0

    return EfficientNetLite0(**kwargs)


def _vgg(**kwargs: Any) -> BaseFeaturizer:
    from graphrec.vision.vgg import VGG19Fc7

    return VGG19Fc7(**kwargs)


def _vgg_pre_relu(**kwargs: Any) -> BaseFeaturizer:
    from graphrec.vision.vgg import VGG19Fc7

    return VGG19Fc7(layer="fc7_pre_relu", **kwargs)


def _gist(**kwargs: Any) -> BaseFeaturizer:
    from graphrec.vision.gist import Gist

    return Gist(**kwargs)


def _hsv(**kwargs: Any) -> BaseFeaturizer:
    from graphrec.vision.seeds import HsvHist

    return HsvHist(**kwargs)


def _pixels(**kwargs: Any) -> BaseFeaturizer:
    from graphrec.vision.seeds import Pixels16

    return Pixels16(**kwargs)


FEATURIZERS: dict[str, Callable[..., BaseFeaturizer]] = {
    "efficientnet_lite0": _efficientnet,
    "vgg19_fc7": _vgg,
    "vgg19_fc7_pre_relu": _vgg_pre_relu,
    "gist": _gist,
    "hsv_hist": _hsv,
    "pixels16": _pixels,
}


def parse_spec(spec: str) -> list[tuple[str, float]]:
    """``"gist:0.5+hsv_hist"`` -> ``[("gist", 0.5), ("hsv_hist", 1.0)]``; InputError (a ValueError) naming the bad part."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"featurizer spec must be a non-empty string like 'gist+hsv_hist', got {spec!r}; valid names: {', '.join(FEATURIZERS)}.")
    parts = []
    for raw in spec.split("+"):
        token = raw.strip()
        name, sep, weight_text = token.partition(":")
        name = name.strip().lower()
        if name not in FEATURIZERS:
            close = difflib.get_close_matches(name, list(FEATURIZERS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(
                f"unknown featurizer {name or raw!r} in spec {spec!r}; {hint}valid names: {', '.join(FEATURIZERS)} "
                "(combine with '+', weight with ':', e.g. 'gist:0.5+hsv_hist:1')."
            )
        weight = 1.0
        if sep:
            try:
                weight = float(weight_text)
            except ValueError:
                raise InputError(f"weight {weight_text!r} of {name!r} in spec {spec!r} is not a number; write e.g. '{name}:0.5'.") from None
            if not weight > 0 or weight == float("inf"):
                raise InputError(f"weight of {name!r} in spec {spec!r} must be a positive finite number, got {weight_text!r}.")
        parts.append((name, weight))
    names = [n for n, _ in parts]
    if len(set(names)) != len(names):
        raise InputError(f"spec {spec!r} names a featurizer twice; give each once (use a weight to emphasise it).")
    return parts


def get_featurizer(spec: str = DEFAULT_FEATURIZER, **kwargs: Any) -> BaseFeaturizer:
    """Build the featurizer ``spec`` names, passing ``kwargs`` to it.

    A combination accepts only ``device`` (given to every part); other options differ between parts,
    so build those parts yourself and pass them to ``Combined``. A single part's weight is ignored
    (a lone featurizer is not normalised). The result's ``.name`` is a spec that rebuilds it.
    """
    parts = parse_spec(spec)
    if len(parts) == 1 and parts[0][1] == 1.0:
        return FEATURIZERS[parts[0][0]](**kwargs)
    extra = set(kwargs) - {"device"}
    if extra:
        raise ValueError(
            f"options {sorted(extra)} cannot be passed to the combination {spec!r}; build the parts yourself and pass "
            "them to graphrec.vision.combine.Combined([(featurizer, weight), ...])."
        )
    from graphrec.vision.combine import Combined

    built = []
    for name, weight in parts:
        featurizer = FEATURIZERS[name]()
        if "device" in kwargs:
            featurizer.to(kwargs["device"])
        built.append((featurizer, weight))
    if len(built) == 1:  # "gist:2" alone: a weight on a single part changes nothing after normalisation
        return built[0][0]
    return Combined(built)
