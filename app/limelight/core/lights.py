"""Lights: an edit is a list of lights, each with its own mask, knobs and visibility.

A ``Light`` is what Lightroom calls a mask with its own adjustment: shapes (brush strokes,
ellipses, smart and subject selections, the whole frame), each added or subtracted, a
transition band, and its own degree and shadows / highlights / noise knobs.

The rule for overlapping lights (``compose``; the export and the editor's preview apply it
the same way):

* each light's enhancement ``E_k`` is computed from the *original* photo, with the light's
  own mask as the network's mask input and its own knobs, so a knob change on one light
  recomposes that light only and never re-runs the network for the others;
* the lights are then applied in list order, each to the result before it, as a layer with
  its compositing weight ``w_k`` (mask channel 1) as opacity::

      out_0 = photo
      out_k = out_{k-1} + w_k * (E_k - out_{k-1})

  so where two lights overlap, the later one in the list shows over the earlier one in
  proportion to its weight; a hidden light, or one of degree 0, is skipped;
* a pixel outside every light (all weights 0) is the photo's own value, bit for bit.

A light whose shape list is empty covers nothing (``invert`` turns that into the whole
frame); the whole photo is the ``Whole`` shape. (A bare ``MaskSpec`` with no shapes still
means the whole image, as the command line's global setting always has.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from limelight.core.errors import RecipeError
from limelight.core.masks import MaskSpec, Whole
from limelight.core.recompose import Knobs

#: At most this many lights in one edit (each costs a network run).
MAX_LIGHTS = 32
#: Longest light name, in characters.
MAX_NAME = 80


@dataclass(frozen=True)
class Light:
    """One light: ``mask`` (empty shapes = covers nothing), ``knobs``, ``visible``."""

    name: str = "Light 1"
    mask: MaskSpec = field(default_factory=MaskSpec)
    knobs: Knobs = field(default_factory=Knobs)
    visible: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not 0 < len(self.name) <= MAX_NAME:
            raise RecipeError(f"name must be a text of 1 to {MAX_NAME} characters, got "
                              f"{self.name!r:.60}")
        if not isinstance(self.mask, MaskSpec):
            raise RecipeError(f"mask must be a MaskSpec, got {self.mask!r:.60}")
        if not isinstance(self.knobs, Knobs):
            raise RecipeError(f"knobs must be Knobs, got {self.knobs!r:.60}")
        if not isinstance(self.visible, bool):
            raise RecipeError(f"visible must be true or false, got {self.visible!r:.60}")

    @property
    def effective_mask(self) -> MaskSpec | None:
        """The ``MaskSpec`` to rasterise (``masks.rasterize_area_a``), or None when the light
        covers nothing (no shapes and not inverted)."""
        if self.mask.shapes:
            return self.mask
        if self.mask.invert:  # nothing, inverted: the whole frame
            return replace(self.mask, shapes=(Whole(),), invert=False)
        return None

    @property
    def active(self) -> bool:
        """Whether the light changes any pixel: visible, degree > 0 and covering something."""
        return self.visible and self.knobs.degree != 0.0 and self.effective_mask is not None


def legacy_light(mask: MaskSpec, knobs: Knobs, name: str = "Light 1") -> Light:
    """The single light of a schema 1/2 recipe: its mask and knobs; no shapes there meant the
    whole image, which is the ``Whole`` shape here."""
    if not mask.shapes:
        mask = replace(mask, shapes=(Whole(),))
    return Light(name, mask, knobs)


def whole_photo_light(name: str = "Whole photo") -> Light:
    """A light over the whole frame (the editor's explicit "Whole photo" action)."""
    return Light(name, MaskSpec(shapes=(Whole(),)))


def compose(img: np.ndarray, enhanced: Sequence[np.ndarray],
            weights: Sequence[np.ndarray]) -> np.ndarray:
    """The module's rule on float images: ``img`` (H, W, 3) float32 [0, 1], one (H, W, 3)
    enhancement and one (H, W) weight in [0, 1] per light, in list order. Returns a new
    (H, W, 3) float32 array; equal to ``img`` wherever every weight is 0."""
    if len(enhanced) != len(weights):
        raise ValueError(f"{len(enhanced)} enhancements for {len(weights)} weights")
    out = np.array(img, np.float32, copy=True)
    for e, w in zip(enhanced, weights, strict=True):
        out += w[..., None].astype(np.float32) * (np.asarray(e, np.float32) - out)
    return out


def unique_name(base: str, taken: Sequence[str]) -> str:
    """``base`` or ``base 2``, ``base 3``… whichever is not in ``taken``."""
    if base not in taken:
        return base
    k = 2
    while f"{base} {k}" in taken:
        k += 1
    return f"{base} {k}"
