"""The open photo and its edit, at preview resolution; no Qt here.

``Document`` keeps the preview proxy of the photo (long edge ``PREVIEW_LONG_EDGE``), the edit
as a frozen ``EditState`` (the lights + the model: the content of a recipe, and which light
the panels edit), and each light's area A rasterised at proxy size. Brush strokes are
painted incrementally into the selected light's proxy mask with the core's
``StrokePainter``, so painting never touches the full-resolution photo.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from limelight.core.errors import LimelightError
from limelight.core.imageio import to_float
from limelight.core.lights import Light, unique_name
from limelight.core.masks import MaskSpec, Shape, Stroke, StrokePainter, rasterize_area_a
from limelight.core.network import working_size
from limelight.core.recompose import Knobs

log = logging.getLogger(__name__)

#: Long edge of the preview proxy in pixels (about one megapixel at 3:2).
PREVIEW_LONG_EDGE = 1280
#: The shortest side of a proxy (the mask's band and the guided transfer need a few pixels).
MIN_PROXY_SIDE = 3
#: Brush points closer than this (proxy pixels) to the previous one are not recorded.
MIN_POINT_SPACING = 0.75

_keys = itertools.count(1)


def next_key() -> int:
    """A process-wide unique key for image/mask versions."""
    return next(_keys)


@dataclass(frozen=True)
class EditState:
    """Everything a recipe stores (the lights and the model), plus ``selected``: the index
    of the light the panels edit (-1: none). ``spec``, ``knobs`` and the ``with_*`` methods
    read and change the selected light; changing the mask with no light selected adds one.
    """

    lights: tuple[Light, ...] = ()
    model: str | None = None
    selected: int = -1

    @property
    def light(self) -> Light | None:
        """The selected light, or None."""
        return self.lights[self.selected] if 0 <= self.selected < len(self.lights) else None

    @property
    def spec(self) -> MaskSpec:
        """The selected light's mask (no shapes when none is selected)."""
        light = self.light
        return light.mask if light is not None else MaskSpec()

    @property
    def knobs(self) -> Knobs:
        light = self.light
        return light.knobs if light is not None else Knobs()

    @property
    def content(self) -> tuple[tuple[Light, ...], str | None]:
        """What is saved (the selection is not): compared to tell an unsaved edit."""
        return self.lights, self.model

    def with_light(self, light: Light) -> EditState:
        """``light`` in place of the selected one (appended and selected when none is)."""
        if self.light is None:
            return replace(self, lights=(*self.lights, light), selected=len(self.lights))
        lights = list(self.lights)
        lights[self.selected] = light
        return replace(self, lights=tuple(lights))

    def with_spec(self, **changes: Any) -> EditState:
        light = self.light
        if light is None:
            name = unique_name("Light", [x.name for x in self.lights])
            light = Light(name if name != "Light" else "Light 1")
        return self.with_light(replace(light, mask=replace(light.mask, **changes)))

    def with_knobs(self, knobs: Knobs) -> EditState:
        light = self.light
        return self if light is None else self.with_light(replace(light, knobs=knobs))


def make_proxy(pixels: np.ndarray, long_edge: int = PREVIEW_LONG_EDGE) -> np.ndarray:
    """(H, W, 3) uint8/uint16 -> proxy of the same dtype (INTER_AREA)."""
    h, w = pixels.shape[:2]
    # a side keeps at least MIN_PROXY_SIDE pixels: a 3x5000 photo is not squashed to one row
    ph, pw = working_size(h, w, long_edge, MIN_PROXY_SIDE)
    if (pw, ph) == (w, h):
        return np.ascontiguousarray(pixels)
    return cv2.resize(pixels, (pw, ph), interpolation=cv2.INTER_AREA)


class Document:
    """One open photo.

    Args:
        proxy: (h, w, 3) uint8 or uint16, the preview proxy.
        full_size: (width, height) of the photo at full resolution.
        path: the photo's file (None for an in-memory image).
        meta: the core's ``ImageMeta`` (kept for export), or None.
    """

    def __init__(
        self,
        proxy: np.ndarray,
        full_size: tuple[int, int],
        path: Path | None = None,
        meta: Any = None,
        state: EditState | None = None,
    ) -> None:
        self.path = path
        self.meta = meta
        self.full_size = full_size
        self.proxy = np.ascontiguousarray(proxy)
        self.img = to_float(self.proxy)
        from limelight.gui.worker import to_display

        self.display = to_display(self.img)
        self.image_key = next_key()
        self.mask_key = next_key()
        self.state = state or EditState()
        self.saved_state = self.state
        #: where this photo's edit was read from or last saved (Ctrl+S writes there)
        self.recipe_path: Path | None = None
        #: the full-resolution photo (``core.imageio.Image``), read once for the 1:1 view
        self.full_image: Any = None
        #: raw area A (before invert) and its key, per shape list (shared by equal lights)
        self._areas: dict[tuple[Shape, ...], tuple[np.ndarray, int]] = {}
        self.area_raw = self._area_of(self.state.spec)
        self.mask_key = self._areas[self.state.spec.shapes][1]
        self._painter: StrokePainter | None = None
        self._stroke: dict[str, Any] | None = None

    # -- geometry ----------------------------------------------------------------------------
    @property
    def proxy_hw(self) -> tuple[int, int]:
        return self.proxy.shape[0], self.proxy.shape[1]

    @property
    def short_side_px(self) -> int:
        """The proxy's short side in pixels (brush radii are fractions of it)."""
        return min(self.proxy_hw)

    def scene_to_proxy(self, x: float, y: float) -> tuple[float, float]:
        """Full-resolution pixel coordinates -> proxy pixel coordinates."""
        h, w = self.proxy_hw
        return x * w / self.full_size[0], y * h / self.full_size[1]

    def scene_to_relative(self, x: float, y: float) -> tuple[float, float]:
        return x / self.full_size[0], y / self.full_size[1]

    @property
    def transition_px(self) -> float:
        """Transition width in proxy pixels."""
        h, w = self.proxy_hw
        return self.state.spec.transition_px(h, w)

    # -- state -------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self.state.content != self.saved_state.content

    def mark_saved(self) -> None:
        self.saved_state = self.state

    def set_state(self, state: EditState) -> bool:
        """Replaces the edit; returns True if the selected light's area A changed (or another
        light is selected)."""
        old = self.state
        self.state = state
        self._prune()
        if old.selected != state.selected or old.spec.shapes != state.spec.shapes \
                or old.spec.invert != state.spec.invert:
            self.area_raw = self._area_of(state.spec)
            self.mask_key = self._areas[state.spec.shapes][1]
            return True
        return False

    def refresh_areas(self) -> None:
        """Rasterises every light again (the subject detector became known)."""
        self._areas.clear()
        self.area_raw = self._area_of(self.state.spec)
        self.mask_key = self._areas[self.state.spec.shapes][1]

    def _area_of(self, spec: MaskSpec) -> np.ndarray:
        """Raw area A of a light's mask (cached by its shapes; no shapes = nothing)."""
        hit = self._areas.get(spec.shapes)
        if hit is None:
            hit = (self._rasterize(spec), next_key())
            self._areas[spec.shapes] = hit
        return hit[0]

    def _prune(self) -> None:
        keep = {light.mask.shapes for light in self.state.lights}
        for shapes in [k for k in self._areas if k not in keep]:
            del self._areas[shapes]

    def layers(self) -> list[tuple[int, Light, np.ndarray, tuple[int, bool]]]:
        """The lights that change pixels, in order: (index, light, area A (h, w) float32 with
        invert applied, key). The key changes whenever the area does (live painting too)."""
        out = []
        for k, light in enumerate(self.state.lights):
            painting = k == self.state.selected and self.painting and light.visible \
                and light.knobs.degree != 0.0
            if not (light.active or painting):
                continue
            if k == self.state.selected:
                area, key = self.area_raw, self.mask_key
            else:
                area = self._area_of(light.mask)
                key = self._areas[light.mask.shapes][1]
            out.append((k, light, 1.0 - area if light.mask.invert else area,
                        (key, light.mask.invert)))
        return out

    def _rasterize(self, spec: MaskSpec) -> np.ndarray:
        h, w = self.proxy_hw
        if not spec.shapes:  # a light with no shapes covers nothing
            return np.zeros((h, w), np.float32)
        base_dir = self.path.parent if self.path is not None else None
        raw = replace(spec, invert=False)
        self.mask_error = None
        try:
            return rasterize_area_a(raw, h, w, base_dir=base_dir, subject_fn=self.subject_fn,
                                    guide=self.proxy)
        except LimelightError as exc:  # e.g. a raster mask file that went missing
            self.mask_error = str(exc)
        except Exception as exc:  # noqa: BLE001 - the user gets a sentence, the log the trace
            log.exception("could not rasterise the mask")
            self.mask_error = f"cannot draw the mask: {type(exc).__name__}: {exc}"
        return np.zeros((h, w), np.float32)

    #: ``subject_fn(h, w)`` used for ``Subject`` shapes (set by the window when available).
    subject_fn: Any = None
    #: Why the last rasterisation failed (shown in the status bar), or None.
    mask_error: str | None = None

    def area_a(self) -> np.ndarray:
        """Area A at proxy size, (h, w) float32 [0, 1], invert applied."""
        if self.state.spec.invert:
            return 1.0 - self.area_raw
        return self.area_raw

    def area_a_region(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        raw = self.area_raw[y0:y1, x0:x1]
        return 1.0 - raw if self.state.spec.invert else raw

    # -- painting ----------------------------------------------------------------------------
    def begin_stroke(
        self, x: float, y: float, radius: float, hardness: float, mode: str,
        auto: bool = False,
    ) -> tuple[int, int, int, int] | None:
        """Starts a stroke at scene (full-res px) ``x, y``; ``radius`` is a fraction of the
        short side. Returns the touched proxy bbox (y0, y1, x0, x1)."""
        self.area_raw = self.area_raw.copy()  # (the cached area stays the light's as saved)
        self._painter = StrokePainter(
            self.area_raw, radius * self.short_side_px, hardness, mode  # type: ignore[arg-type]
        )
        p = self.scene_to_proxy(x, y)
        self._stroke = {"points": [self.scene_to_relative(x, y)], "last": p, "radius": radius,
                        "hardness": hardness, "mode": mode, "auto": auto}
        self.mask_key = next_key()
        return self._painter.segment(p, p)

    def stroke_to(self, x: float, y: float) -> tuple[int, int, int, int] | None:
        """Extends the stroke to scene ``x, y``; returns the touched proxy bbox or None."""
        if self._painter is None or self._stroke is None:
            return None
        p = self.scene_to_proxy(x, y)
        last = self._stroke["last"]
        if (p[0] - last[0]) ** 2 + (p[1] - last[1]) ** 2 < MIN_POINT_SPACING**2:
            return None
        bbox = self._painter.segment(last, p)
        self._stroke["last"] = p
        self._stroke["points"].append(self.scene_to_relative(x, y))
        if bbox is not None:
            self.mask_key = next_key()  # live previews during the stroke see the new pixels
        return bbox

    def end_stroke(self) -> Stroke | None:
        """Finishes the stroke; returns it as a core ``Stroke`` (not yet in the state)."""
        stroke, self._stroke, self._painter = self._stroke, None, None
        if stroke is None:
            return None
        self.mask_key = next_key()
        return Stroke(
            points=tuple(stroke["points"]),
            radius=stroke["radius"],
            hardness=stroke["hardness"],
            mode=stroke["mode"],
            auto=stroke["auto"],
        )

    @property
    def painting(self) -> bool:
        return self._painter is not None

    def adopt_painted(self, state: EditState) -> None:
        """Installs ``state``, whose selected light's shapes were just painted into
        ``area_raw`` (so they are not rasterised again)."""
        self.state = state
        self._areas[state.spec.shapes] = (self.area_raw, self.mask_key)
        self._prune()
