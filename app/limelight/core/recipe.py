"""Recipes: the saved edit (model, knobs, mask shapes) as a versioned JSON document.

A recipe file looks like this (``limelight_recipe`` is the schema version)::

    {
      "limelight_recipe": 3,
      "model": null,
      "lights": [
        {
          "name": "Face", "visible": true,
          "knobs": {"degree": 1.0, "gamma1": 0.5, "gamma2": 0.5, "gamma3": 0.5},
          "mask": {
            "transition": 0.06, "invert": false, "band": "auto", "edge_aware": false,
            "range_low": 0.0, "range_high": 0.7, "range_soft": 0.1,
            "shapes": [
              {"type": "ellipse", "cx": 0.5, "cy": 0.5, "rx": 0.2, "ry": 0.3, "angle": 0.0,
               "mode": "add"},
              {"type": "stroke", "points": [[0.1, 0.2], [0.15, 0.22]], "radius": 0.02,
               "hardness": 0.8, "mode": "add"},
              {"type": "raster", "path": "m.png", "mode": "add"},
              {"type": "subject", "mode": "add"},
              {"type": "whole", "mode": "add"}
            ]
          }
        }
      ]
    }

``range_low``/``range_high``/``range_soft`` (written only when the range leaves pixels out)
restrict a light to a band of the photo's luminance (``masks.luminance_range``).
``lights`` apply in list order (``limelight.core.lights`` states the rule); a light with no
shapes covers nothing, and ``[]`` is the photo as it is. Schema 1 and 2 files hold one
``knobs`` and one ``mask`` at the top level instead of ``lights``: they are read as one light
(no shapes there meant the whole image: the ``whole`` shape) and written back as schema 3.
``model: null`` means the zoo's default model. Optional keys take their defaults; unknown keys
are rejected. Coordinates are described in ``limelight.core.masks``. A raster mask's relative
path is relative to the recipe's folder. Every validation error names the field's path, e.g.
``mask.shapes[2].radius must be in (0, 1], got -3``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from limelight.core.atomic import atomic_path
from limelight.core.brush import MAX_STROKE_COVERAGE, stroke_coverage
from limelight.core.errors import ImageWriteError, MaskError, RecipeError
from limelight.core.imageio_encode import refuse_protected
from limelight.core.lights import MAX_LIGHTS, Light, legacy_light
from limelight.core.masks import Ellipse, MaskSpec, RasterMask, Shape, Stroke, Subject, Whole
from limelight.core.recompose import Knobs

#: The schema version this Limelight writes and the newest it reads. Version 3 (2026-12-02):
#: a list of ``lights``, each with its own mask and knobs (``core.lights``). Version 2: the
#: gammas are the light finish's shadows, highlights and noise (``core.finish``), default
#: 0.5; in version 1 they were the fusion models' own terms, 1 = the model's output. A version
#: 1 file is read with each gamma halved (1 -> 0.5: the model's own light, as it was); older
#: files are written back as version 3.
RECIPE_VERSION = 3
VERSION_KEY = "limelight_recipe"
SIDECAR_SUFFIX = ".limelight.json"

#: What one recipe may hold: rasterising costs per shape and per stroke point, and a
#: recipe is a file anyone can send (a stroke of 1e6 points ran for minutes).
MAX_SHAPES = 1_000
MAX_POINTS = 100_000
MAX_RECIPE_BYTES = 64 << 20
_TOP_KEYS = (VERSION_KEY, "model", "knobs", "mask")
_TOP_KEYS_3 = (VERSION_KEY, "model", "lights")
_LIGHT_KEYS = ("name", "visible", "knobs", "mask")
_RANGE_KEYS = ("range_low", "range_high", "range_soft")
_MASK_KEYS = ("transition", "invert", "band", "edge_aware", *_RANGE_KEYS, "shapes")
#: type -> (required keys, optional keys) besides "type".
_SHAPE_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ellipse": (("cx", "cy", "rx", "ry"), ("angle", "mode")),
    "stroke": (("points", "radius"), ("hardness", "mode", "auto")),
    "raster": (("path",), ("mode",)),
    "subject": ((), ("mode",)),
    "whole": ((), ("mode",)),
}


@dataclass(frozen=True)
class Recipe:
    """A saved edit. ``model`` None means the zoo's default model.

    ``lights`` None is the one-light form (``knobs`` and ``mask``; no shapes = the whole
    image), as schema 1/2 files and the command line's options describe an edit; otherwise
    the lights, and ``knobs`` and ``mask`` only mirror the first light's (changing them
    changes nothing). ``layers`` is the list to apply either way."""

    version: int = RECIPE_VERSION
    model: str | None = None
    knobs: Knobs = field(default_factory=Knobs)
    mask: MaskSpec = field(default_factory=MaskSpec)
    lights: tuple[Light, ...] | None = None

    def __eq__(self, other: object) -> bool:
        """Recipes are equal when they apply the same lights with the same model (a schema 2
        recipe equals its schema 3 migration)."""
        if not isinstance(other, Recipe):
            return NotImplemented
        return (self.model, self.layers) == (other.model, other.layers)

    def __hash__(self) -> int:
        return hash((self.model, self.layers))

    @property
    def layers(self) -> tuple[Light, ...]:
        """The lights to apply, in order (``core.lights``)."""
        if self.lights is None:
            return (legacy_light(self.mask, self.knobs),)
        return self.lights

    @property
    def shapes(self) -> tuple[Shape, ...]:
        """Every shape of every light (to find the files a recipe reads, the subject...)."""
        return tuple(s for light in self.layers for s in light.mask.shapes)

    def __post_init__(self) -> None:
        v = self.version
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= RECIPE_VERSION:
            raise RecipeError(
                f"{VERSION_KEY} must be an integer in [1, {RECIPE_VERSION}], got {v!r}"
            )
        if self.model is not None and (not isinstance(self.model, str) or not self.model.strip()):
            raise RecipeError(f"model must be a model name or null, got {self.model!r}")
        if not isinstance(self.knobs, Knobs):
            raise RecipeError(f"knobs must be Knobs, got {self.knobs!r}")
        if not isinstance(self.mask, MaskSpec):
            raise RecipeError(f"mask must be a MaskSpec, got {self.mask!r}")
        if self.lights is not None:
            object.__setattr__(self, "lights", tuple(self.lights))
            if not all(isinstance(light, Light) for light in self.lights):
                raise RecipeError("lights must be a list of Light")
            if len(self.lights) > MAX_LIGHTS:
                raise RecipeError(f"lights must hold at most {MAX_LIGHTS} lights, got "
                                  f"{len(self.lights)}")
            if self.lights:  # read-only mirrors of the first light, for one-light callers
                object.__setattr__(self, "mask", self.lights[0].mask)
                object.__setattr__(self, "knobs", self.lights[0].knobs)


def sidecar_path(photo: str | Path) -> Path:
    """The recipe saved next to a photo: ``<photo>.limelight.json``."""
    photo = Path(photo)
    return photo.with_name(photo.name + SIDECAR_SUFFIX)


# ----------------------------------------------------------------------------- reading


def _shown(value: object) -> str:
    """``repr(value)`` cut to 40 characters (a 4301-digit integer cannot even be printed)."""
    try:
        text = repr(value)
    except ValueError:
        return "a number too long to show"
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise RecipeError(f"{where} must be an object, got {_type_name(value)}")
    return value


def _check_keys(doc: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in doc:
        if key not in allowed:
            place = f" in {where}" if where else " at the top level"
            raise RecipeError(
                f"unknown key {key!r}{place} (known: {', '.join(allowed)})"
            )


def _prefixed(where: str, err: Exception) -> RecipeError:
    problem = err.problem if isinstance(err, MaskError) else str(err)
    return RecipeError(f"{where}.{problem}")


def _check_version(doc: Mapping[str, Any]) -> int:
    if VERSION_KEY not in doc:
        raise RecipeError(f"not a Limelight recipe: the {VERSION_KEY!r} version key is missing")
    version = doc[VERSION_KEY]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RecipeError(f"{VERSION_KEY} must be a schema version (1, 2...), got "
                          f"{_shown(version)}")
    if version > RECIPE_VERSION:
        raise RecipeError(
            f"this recipe was written by a newer Limelight (schema {_shown(version)}; this version "
            f"reads up to {RECIPE_VERSION}); update Limelight to use it"
        )
    return version


def _parse_shape(doc: object, where: str, base_dir: Path | None) -> Shape:
    doc = _object(doc, where)
    kind = doc.get("type")
    if kind not in _SHAPE_KEYS:
        raise RecipeError(
            f"{where}.type must be one of {', '.join(map(repr, _SHAPE_KEYS))}, got {kind!r}"
        )
    required, optional = _SHAPE_KEYS[kind]
    _check_keys(doc, ("type", *required, *optional), where)
    for key in required:
        if key not in doc:
            raise RecipeError(f"{where}.{key} is missing (a {kind} needs {', '.join(required)})")
    args = {k: v for k, v in doc.items() if k != "type"}
    try:
        if kind == "ellipse":
            return Ellipse(**args)
        if kind == "stroke":
            return Stroke(**args)
        if kind == "subject":
            return Subject(**args)
        if kind == "whole":
            return Whole(**args)
        path = args.pop("path")
        if not isinstance(path, str) or not path:
            raise RecipeError(f"{where}.path must be a file path, got {path!r}")
        resolved = Path(path)
        if base_dir is not None and not resolved.is_absolute():
            resolved = base_dir / resolved
        return RasterMask(resolved, **args)
    except MaskError as err:
        raise _prefixed(where, err) from None


def _parse_mask(doc: object, base_dir: Path | None, where: str = "mask",
                budget: list[float] | None = None) -> MaskSpec:
    """``budget``: [shapes, points, stroke coverage] still allowed in the whole recipe (lights
    share it)."""
    budget = budget if budget is not None else [MAX_SHAPES, MAX_POINTS, MAX_STROKE_COVERAGE]
    doc = _object(doc, where)
    _check_keys(doc, _MASK_KEYS, where)
    shapes = doc.get("shapes", [])
    if not isinstance(shapes, list):
        raise RecipeError(f"{where}.shapes must be a list, got {_type_name(shapes)}")
    if len(shapes) > budget[0]:
        raise RecipeError(f"{where}.shapes: a recipe must hold at most {MAX_SHAPES:,} shapes "
                          f"in all, got {MAX_SHAPES - budget[0] + len(shapes):,}")
    points = sum(len(s["points"]) for s in shapes
                 if isinstance(s, dict) and isinstance(s.get("points"), list))
    if points > budget[1]:
        raise RecipeError(f"{where}.shapes: the strokes must hold at most {MAX_POINTS:,} points "
                          f"in all, got {MAX_POINTS - budget[1] + points:,}; simplify the strokes")
    budget[0] -= len(shapes)
    budget[1] -= points
    parsed = tuple(
        _parse_shape(s, f"{where}.shapes[{k}]", base_dir) for k, s in enumerate(shapes)
    )
    cover = sum(stroke_coverage(s.points, s.radius) for s in parsed if isinstance(s, Stroke))
    if cover > budget[2]:  # each stroke may reach it; 100 of them took hours
        raise RecipeError(f"{where}.shapes: the strokes are too heavy to paint (together they "
                          f"cover the image {MAX_STROKE_COVERAGE - budget[2] + cover:,.0f} "
                          f"times, at most {MAX_STROKE_COVERAGE:,.0f} in a recipe); merge or "
                          f"simplify them")
    budget[2] -= cover
    args = {k: doc[k] for k in ("transition", "invert", "band", "edge_aware", *_RANGE_KEYS)
            if k in doc}
    try:
        return MaskSpec(shapes=parsed, **args)
    except MaskError as err:
        raise _prefixed(where, err) from None


def _parse_light(doc: object, where: str, base_dir: Path | None, budget: list[float]) -> Light:
    doc = _object(doc, where)
    _check_keys(doc, _LIGHT_KEYS, where)
    name = doc.get("name", "Light")
    visible = doc.get("visible", True)
    knobs = _parse_knobs(doc.get("knobs", {}), RECIPE_VERSION, f"{where}.knobs")
    mask = _parse_mask(doc.get("mask", {}), base_dir, f"{where}.mask", budget)
    try:
        return Light(name, mask, knobs, visible)
    except RecipeError as err:
        raise RecipeError(f"{where}.{err.problem}") from None


def _parse_lights(doc: object, base_dir: Path | None) -> tuple[Light, ...]:
    if not isinstance(doc, list):
        raise RecipeError(f"lights must be a list, got {_type_name(doc)}")
    if len(doc) > MAX_LIGHTS:
        raise RecipeError(f"lights must hold at most {MAX_LIGHTS} lights, got {len(doc):,}")
    budget: list[float] = [MAX_SHAPES, MAX_POINTS, MAX_STROKE_COVERAGE]
    return tuple(_parse_light(d, f"lights[{k}]", base_dir, budget) for k, d in enumerate(doc))


def _parse_knobs(doc: object, version: int = RECIPE_VERSION, where: str = "knobs") -> Knobs:
    doc = _object(doc, where)
    _check_keys(doc, ("degree", "gamma1", "gamma2", "gamma3"), where)
    for key, value in doc.items():
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                float(value)
            except OverflowError:
                raise RecipeError(f"{where}.{key} must be a number of ordinary size, got an "
                                  f"integer of {value.bit_length():,} bits") from None
    try:
        knobs = Knobs(**doc)
    except ValueError as err:
        raise _prefixed(where, err) from None
    if version == 1:  # the fusion terms' 1 (the model's own) is the finish's default 0.5
        knobs = knobs.with_(**{k: v / 2.0 for k, v in doc.items() if k.startswith("gamma")})
    return knobs


def recipe_from_dict(doc: object, base_dir: str | Path | None = None) -> Recipe:
    """Validates a parsed JSON document and builds the Recipe.

    Relative raster-mask paths are joined to ``base_dir`` when it is given (kept relative
    otherwise). Raises RecipeError naming the offending field.
    """
    doc = _object(doc, "the recipe")
    version = _check_version(doc)
    _check_keys(doc, _TOP_KEYS_3 if version >= 3 else _TOP_KEYS, "")
    model = doc.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise RecipeError(f"model must be a model name or null, got {model!r}")
    base = Path(base_dir) if base_dir is not None else None
    if version >= 3:
        return Recipe(model=model, lights=_parse_lights(doc.get("lights", []), base))
    return Recipe(
        version=version,
        model=model,
        knobs=_parse_knobs(doc.get("knobs", {}), version),
        mask=_parse_mask(doc.get("mask", {}), base),
    )


def load_recipe(path: str | Path) -> Recipe:
    """Reads a recipe file; raster paths are resolved against its folder.

    Raises RecipeError naming the file and the problem (line and column for bad JSON).
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_RECIPE_BYTES:
            raise RecipeError(f"not a recipe: the file is larger than "
                              f"{MAX_RECIPE_BYTES >> 20} MB", path)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError("no such recipe file", path) from None
    except UnicodeDecodeError:
        raise RecipeError("not a recipe: the file is not UTF-8 text", path) from None
    except OSError as err:
        raise RecipeError(f"cannot read the recipe ({err.strerror or err})", path) from None
    except ValueError as err:  # a NUL in the name
        raise RecipeError(f"not a usable file name ({err})", path) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise RecipeError(
            f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}", path
        ) from None
    except RecursionError:
        raise RecipeError("not a recipe: the JSON is nested too deeply", path) from None
    except ValueError as err:  # e.g. an integer of more than 4300 digits
        raise RecipeError(f"not a recipe: {err}", path) from None
    try:
        return recipe_from_dict(doc, base_dir=path.absolute().parent)
    except RecipeError as err:
        raise RecipeError(err.problem, path) from None


# ----------------------------------------------------------------------------- writing


def _shape_to_dict(shape: Shape, base_dir: Path | None) -> dict[str, Any]:
    if isinstance(shape, Ellipse):
        return {"type": "ellipse", **asdict(shape)}
    if isinstance(shape, Stroke):
        return {"type": "stroke", "points": [list(p) for p in shape.points],
                "radius": shape.radius, "hardness": shape.hardness, "mode": shape.mode,
                **({"auto": True} if shape.auto else {})}
    if isinstance(shape, RasterMask):
        path = shape.path
        if base_dir is not None and path.is_absolute() and path.is_relative_to(base_dir):
            path = path.relative_to(base_dir)
        text = str(path) if path.is_absolute() else path.as_posix()
        return {"type": "raster", "path": text, "mode": shape.mode}
    if isinstance(shape, Whole):
        return {"type": "whole", "mode": shape.mode}
    return {"type": "subject", "mode": shape.mode}


def recipe_to_dict(recipe: Recipe, base_dir: str | Path | None = None) -> dict[str, Any]:
    """The JSON document of a recipe (every key written). Raster paths under ``base_dir``
    are written relative to it, so a recipe saved beside its masks can be moved with them."""
    base = Path(base_dir) if base_dir is not None else None
    return {
        VERSION_KEY: RECIPE_VERSION,
        "model": recipe.model,
        "lights": [light_to_dict(light, base) for light in recipe.layers],
    }


def mask_to_dict(mask: MaskSpec, base_dir: Path | None = None) -> dict[str, Any]:
    """The JSON object of one light's mask (``edge_aware`` only when set)."""
    return {
        "transition": mask.transition,
        "invert": mask.invert,
        "band": mask.band,
        **({"edge_aware": True} if mask.edge_aware else {}),
        **({k: getattr(mask, k) for k in _RANGE_KEYS} if mask.has_range else {}),
        "shapes": [_shape_to_dict(s, base_dir) for s in mask.shapes],
    }


def light_to_dict(light: Light, base_dir: Path | None = None) -> dict[str, Any]:
    """The JSON object of one light."""
    return {"name": light.name, "visible": light.visible, "knobs": asdict(light.knobs),
            "mask": mask_to_dict(light.mask, base_dir)}


def dumps_recipe(recipe: Recipe, base_dir: str | Path | None = None) -> str:
    """The recipe as pretty JSON text: objects indented, each point on its own line."""
    return _pretty(recipe_to_dict(recipe, base_dir)) + "\n"


def _pretty(value: Any, level: int = 0) -> str:
    inner, outer = "  " * (level + 1), "  " * level
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {_pretty(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + outer + "}"
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        items = [inner + _pretty(v, level + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + outer + "]"
    return json.dumps(value, ensure_ascii=False)


def _refuse_non_recipe(path: Path) -> None:
    """ImageWriteError when ``path`` is a folder or an existing file that is not JSON text."""
    if path.is_dir():
        raise ImageWriteError("is a folder; give the recipe a file name", path)
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except FileNotFoundError:
        return
    except OSError:
        return  # unreadable: the write below says why it cannot replace it
    if head and not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        raise ImageWriteError("exists and is not a recipe (JSON); it was not replaced, "
                              "choose another name", path)


def save_recipe(recipe: Recipe, path: str | Path, *,
                protect: Iterable[str | Path] = ()) -> Path:
    """Writes ``recipe`` to ``path`` atomically (``atomic.atomic_path``); returns the path.

    Refuses (ImageWriteError) a path in ``protect`` (the inputs: photo, recipe, masks) and an
    existing file that is not JSON text (a photo is never replaced by a recipe, whoever
    calls). Raises RecipeError if the folder is not writable."""
    path = Path(path)
    refuse_protected(path, protect, "the recipe")
    _refuse_non_recipe(path)
    text = dumps_recipe(recipe, base_dir=path.absolute().parent)
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as err:
        raise RecipeError(f"cannot write the recipe ({err.strerror or err})", path) from None
    return path
