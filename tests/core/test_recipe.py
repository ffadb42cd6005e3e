"""Recipes: JSON round trips, validation messages naming the field, atomic save, sidecars."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from limelight.core.errors import RecipeError
from limelight.core.masks import (
    Ellipse,
    MaskSpec,
    RasterMask,
    Stroke,
    Subject,
    rasterize_area_a,
)
from limelight.core.recipe import (
    RECIPE_VERSION,
    Recipe,
    dumps_recipe,
    load_recipe,
    recipe_from_dict,
    recipe_to_dict,
    save_recipe,
    sidecar_path,
)
from limelight.core.recompose import Knobs

DOC = {
    "limelight_recipe": 2,
    "model": "fusion_net_ranlen",
    "knobs": {"degree": 1.4, "gamma1": 0.8, "gamma2": 1.0, "gamma3": 0.25},
    "mask": {
        "transition": 0.06,
        "invert": False,
        "band": "outside",
        "shapes": [
            {"type": "ellipse", "cx": 0.5, "cy": 0.4, "rx": 0.2, "ry": 0.3, "angle": 15.0,
             "mode": "add"},
            {"type": "stroke", "points": [[0.1, 0.2], [0.15, 0.25], [0.3, 0.2]],
             "radius": 0.02, "hardness": 0.8, "mode": "erase"},
            {"type": "raster", "path": "m.png", "mode": "add"},
            {"type": "subject", "mode": "add"},
        ],
    },
}


#: DOC as schema 3 writes it: one light.
DOC3 = {
    "limelight_recipe": 3,
    "model": "fusion_net_ranlen",
    "lights": [{"name": "Light 1", "visible": True, "knobs": DOC["knobs"], "mask": DOC["mask"]}],
}


def _mutated(change) -> dict:
    doc = copy.deepcopy(DOC)
    change(doc)
    return doc


def test_dict_round_trip_is_exact():
    recipe = recipe_from_dict(DOC)
    assert recipe.model == "fusion_net_ranlen"
    assert recipe.knobs == Knobs(1.4, 0.8, 1.0, 0.25)
    ellipse, stroke, raster, subject = recipe.mask.shapes
    assert ellipse == Ellipse(0.5, 0.4, 0.2, 0.3, 15.0)
    assert stroke == Stroke(((0.1, 0.2), (0.15, 0.25), (0.3, 0.2)), 0.02, 0.8, "erase")
    assert raster == RasterMask(Path("m.png")) and subject == Subject()
    assert recipe_to_dict(recipe) == DOC3  # migrated to schema 3: one light
    assert recipe_from_dict(json.loads(dumps_recipe(recipe))) == recipe
    again = recipe_from_dict(DOC3)
    assert again.lights is not None and again == recipe
    assert recipe_to_dict(again) == DOC3


def test_minimal_recipe_takes_the_defaults():
    recipe = recipe_from_dict({"limelight_recipe": 2})
    assert recipe == Recipe()
    assert recipe.model is None and recipe.knobs == Knobs() and recipe.mask == MaskSpec()
    doc = recipe_to_dict(recipe)
    assert doc == {  # schema 2's "no shapes" was the whole image: the whole shape now
        "limelight_recipe": 3, "model": None, "lights": [{
            "name": "Light 1", "visible": True,
            "knobs": {"degree": 1.0, "gamma1": 0.5, "gamma2": 0.5, "gamma3": 0.5},
            "mask": {"transition": 0.06, "invert": False, "band": "auto",
                     "shapes": [{"type": "whole", "mode": "add"}]}}],
    }
    assert recipe_from_dict({"limelight_recipe": 3}).layers == ()  # no light: the photo
    # A shape's optional keys default too.
    short = recipe_from_dict({"limelight_recipe": 1, "mask": {"shapes": [
        {"type": "stroke", "points": [[0.5, 0.5]], "radius": 0.1}]}})
    assert short.mask.shapes == (Stroke(((0.5, 0.5),), 0.1, 1.0, "add"),)


def _random_shape(rng: np.random.Generator):
    mode = str(rng.choice(["add", "erase"]))
    kind = rng.integers(4)
    if kind == 0:
        return Ellipse(*rng.uniform(-1, 2, 2), *rng.uniform(1e-4, 10, 2), rng.uniform(-720, 720),
                       mode)
    if kind == 1:
        points = tuple(map(tuple, rng.random((int(rng.integers(1, 20)), 2))))
        return Stroke(points, rng.uniform(1e-4, 1.0), float(rng.random()), mode)
    if kind == 2:
        return RasterMask(str(rng.choice(["a.png", "masks/b.png", "/abs/c.png"])), mode)
    return Subject(mode)


def _random_recipe(rng: np.random.Generator) -> Recipe:
    return Recipe(
        model=None if rng.random() < 0.3 else f"model_{rng.integers(100)}",
        knobs=Knobs(rng.uniform(0, 2), *rng.random(3)),
        mask=MaskSpec(
            shapes=tuple(_random_shape(rng) for _ in range(rng.integers(6))),
            invert=bool(rng.random() < 0.5), transition=float(rng.random()),
            band=str(rng.choice(["outside", "inside"])),
        ),
    )


def test_any_recipe_survives_json():
    rng = np.random.default_rng(7)
    for _ in range(200):
        recipe = _random_recipe(rng)
        text = dumps_recipe(recipe)
        assert recipe_from_dict(json.loads(text)) == recipe
        doc = recipe_to_dict(recipe)
        assert recipe_to_dict(recipe_from_dict(doc)) == doc


def test_file_round_trip_is_pretty_atomic_and_relative(tmp_path: Path):
    mask_png = tmp_path / "masks" / "m.png"
    mask_png.parent.mkdir()
    PILImage.fromarray(np.full((10, 20), 255, np.uint8)).save(mask_png)
    recipe = Recipe(model=None, knobs=Knobs(degree=0.5), mask=MaskSpec(
        shapes=(RasterMask(mask_png), Stroke(((0.1, 0.1), (0.2, 0.3)), 0.05)), transition=0.1))
    path = save_recipe(recipe, tmp_path / "photo.jpg.limelight.json")
    text = path.read_text()
    assert text.endswith("}\n") and text.count("\n") > 20
    assert '"path": "masks/m.png"' in text  # moved with its folder, the recipe still works
    assert "[0.1, 0.1]" in text  # one point per line, not one number per line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["masks", "photo.jpg.limelight.json"]
    loaded = load_recipe(path)
    assert loaded == recipe
    # Relative paths resolve against the recipe's folder, wherever the process runs.
    moved = tmp_path / "moved"
    moved.mkdir()
    (tmp_path / "masks").rename(moved / "masks")
    path.rename(moved / path.name)
    again = load_recipe(moved / path.name)
    assert again.layers[0].mask.shapes[0].path == moved / "masks" / "m.png"
    area = rasterize_area_a(again.layers[0].mask, 10, 20)
    assert area.min() == 1.0
    # Overwriting replaces the file whole.
    save_recipe(Recipe(), moved / path.name)
    assert load_recipe(moved / path.name) == Recipe()


def test_save_into_a_missing_folder_fails_clearly_and_leaves_nothing(tmp_path: Path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    with pytest.raises(RecipeError, match=r"not_a_dir/r.json: cannot write the recipe"):
        save_recipe(Recipe(), blocker / "r.json")
    assert blocker.read_text() == "x"


def test_sidecar_path():
    assert sidecar_path(Path("/photos/IMG_1.CR2")) == Path("/photos/IMG_1.CR2.limelight.json")
    assert sidecar_path("a/b.jpg") == Path("a/b.jpg.limelight.json")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["mask"]["shapes"][1].__setitem__("radius", -3),
         r"^mask\.shapes\[1\]\.radius must be in \(0, 1\], got -3$"),
        (lambda d: d.__setitem__("limelight_recipe", 4),
         r"this recipe was written by a newer Limelight \(schema 4; this version reads up to 3\)"),
        (lambda d: d.pop("limelight_recipe"), "not a Limelight recipe"),
        (lambda d: d.__setitem__("limelight_recipe", "1"), "limelight_recipe must be"),
        (lambda d: d.__setitem__("colour", 1), r"unknown key 'colour' at the top level"),
        (lambda d: d["mask"]["shapes"][0].__setitem__("radius", 1),
         r"unknown key 'radius' in mask\.shapes\[0\]"),
        (lambda d: d["mask"].__setitem__("feather", 1), r"unknown key 'feather' in mask"),
        (lambda d: d["knobs"].__setitem__("gamma4", 1), r"unknown key 'gamma4' in knobs"),
        (lambda d: d["knobs"].__setitem__("degree", 3),
         r"^knobs\.degree must be in \[0\.0, 2\.0\]"),
        (lambda d: d["knobs"].__setitem__("gamma1", "high"), r"^knobs\.gamma1 must be a number"),
        (lambda d: d.__setitem__("model", 7), "model must be a model name or null, got 7"),
        (lambda d: d.__setitem__("model", ""), "model must be a model name or null"),
        (lambda d: d.__setitem__("knobs", [1, 2]), "knobs must be an object, got a list"),
        (lambda d: d["mask"].__setitem__("shapes", {}), "mask.shapes must be a list"),
        (lambda d: d["mask"].__setitem__("transition", 2),
         r"^mask\.transition must be in \[0, 1\]"),
        (lambda d: d["mask"].__setitem__("invert", "yes"), r"^mask\.invert must be true or false"),
        (lambda d: d["mask"].__setitem__("band", "middle"), r"^mask\.band must be"),
        (lambda d: d["mask"]["shapes"][0].__setitem__("type", "square"),
         r"^mask\.shapes\[0\]\.type must be one of"),
        (lambda d: d["mask"]["shapes"][0].pop("rx"), r"^mask\.shapes\[0\]\.rx is missing"),
        (lambda d: d["mask"]["shapes"][0].__setitem__("mode", "paint"),
         r"^mask\.shapes\[0\]\.mode must be 'add' or 'erase'"),
        (lambda d: d["mask"]["shapes"][1]["points"].append([0.1]),
         r"^mask\.shapes\[1\]\.points\[3\] must be an \[x, y\] pair, got \[0\.1\]"),
        (lambda d: d["mask"]["shapes"][1].__setitem__("points", []),
         r"^mask\.shapes\[1\]\.points must be a non-empty"),
        (lambda d: d["mask"]["shapes"][2].__setitem__("path", 5),
         r"^mask\.shapes\[2\]\.path must be a file path"),
        (lambda d: d["mask"]["shapes"].append("circle"), r"^mask\.shapes\[4\] must be an object"),
    ],
)
def test_validation_errors_name_the_field(change, message):
    with pytest.raises(RecipeError, match=message):
        recipe_from_dict(_mutated(change))


def test_load_errors_name_the_file_and_line(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "limelight_recipe": 1,\n  "model": nul\n}\n')
    with pytest.raises(RecipeError) as info:
        load_recipe(bad)
    assert str(info.value).startswith(f"{bad}: not valid JSON")
    assert "line 3" in str(info.value)
    field = tmp_path / "field.json"
    field.write_text(json.dumps(_mutated(lambda d: d["knobs"].__setitem__("degree", -1))))
    with pytest.raises(RecipeError, match=r"field\.json: knobs\.degree must be in"):
        load_recipe(field)
    with pytest.raises(RecipeError, match=r"nowhere\.json: no such recipe file"):
        load_recipe(tmp_path / "nowhere.json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RecipeError, match=r"binary\.json: not a recipe"):
        load_recipe(binary)
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(RecipeError, match=r"list\.json: the recipe must be an object"):
        load_recipe(listing)


def test_recipe_constructor_validates():
    with pytest.raises(RecipeError, match="limelight_recipe must be"):
        Recipe(version=RECIPE_VERSION + 1)
    with pytest.raises(RecipeError, match="model must be"):
        Recipe(model="  ")
    with pytest.raises(RecipeError, match="mask must be a MaskSpec"):
        Recipe(mask={"shapes": []})


def test_save_recipe_never_replaces_a_photo_or_a_protected_path(tmp_path: Path) -> None:
    """Whoever calls it (CLI, the editor's sidecar), a recipe never replaces a photo."""
    from limelight.core.errors import ImageWriteError
    from limelight.core.recipe import Recipe, save_recipe

    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not json")
    with pytest.raises(ImageWriteError, match="not a recipe"):
        save_recipe(Recipe(), photo)
    link = tmp_path / "r.json"
    link.symlink_to(photo)
    with pytest.raises(ImageWriteError, match="overwrite the input"):
        save_recipe(Recipe(), link, protect=[photo])
    assert photo.read_bytes() == b"\xff\xd8\xff\xe0 not json"
    ok = save_recipe(Recipe(), tmp_path / "ok.json")
    assert save_recipe(Recipe(), ok) == ok  # an existing recipe is replaced as before


def test_a_version_1_recipe_keeps_its_look_and_is_written_as_version_3() -> None:
    """Version 1's gammas were the fusion models' own terms (1 = the model's output); the
    light finish's default 0.5 is that output, so they are read halved."""
    old = recipe_from_dict({"limelight_recipe": 1, "knobs": {
        "degree": 1.3, "gamma1": 1.0, "gamma2": 0.5, "gamma3": 0.0}})
    assert old.knobs == Knobs(degree=1.3, gamma1=0.5, gamma2=0.25, gamma3=0.0)
    assert recipe_from_dict({"limelight_recipe": 1}).knobs == Knobs()
    assert recipe_to_dict(old)["limelight_recipe"] == 3
    assert recipe_from_dict(recipe_to_dict(old)) == old


def test_edge_aware_is_saved_only_when_set() -> None:
    on = Recipe(mask=MaskSpec(edge_aware=True))
    assert recipe_to_dict(on)["lights"][0]["mask"]["edge_aware"] is True
    assert recipe_from_dict(recipe_to_dict(on)) == on
    assert "edge_aware" not in recipe_to_dict(Recipe())["lights"][0]["mask"]


def _lights_doc() -> dict:
    return {"limelight_recipe": 3, "model": None, "lights": [
        {"name": "Face", "visible": True,
         "knobs": {"degree": 1.2, "gamma1": 0.5, "gamma2": 0.5, "gamma3": 0.5},
         "mask": {"transition": 0.05, "invert": False, "band": "auto", "shapes": [
             {"type": "ellipse", "cx": 0.3, "cy": 0.4, "rx": 0.1, "ry": 0.2, "angle": 0.0,
              "mode": "add"}]}},
        {"name": "Background", "visible": False,
         "knobs": {"degree": 0.5, "gamma1": 0.2, "gamma2": 0.5, "gamma3": 0.9},
         "mask": {"transition": 0.1, "invert": False, "band": "auto", "shapes": [
             {"type": "whole", "mode": "add"},
             {"type": "ellipse", "cx": 0.3, "cy": 0.4, "rx": 0.1, "ry": 0.2, "angle": 0.0,
              "mode": "erase"}]}},
        {"name": "Empty", "visible": True,
         "knobs": {"degree": 1.0, "gamma1": 0.5, "gamma2": 0.5, "gamma3": 0.5},
         "mask": {"transition": 0.06, "invert": False, "band": "auto", "shapes": []}},
    ]}


def test_a_list_of_lights_round_trips_exactly() -> None:
    from limelight.core.lights import Light
    from limelight.core.masks import Whole

    doc = _lights_doc()
    recipe = recipe_from_dict(doc)
    face, background, empty = recipe.layers
    assert isinstance(face, Light) and face.name == "Face" and face.knobs.degree == 1.2
    assert background.visible is False and background.mask.shapes[0] == Whole()
    assert not background.active and face.active and not empty.active  # hidden; no shapes
    assert recipe_to_dict(recipe) == doc
    assert recipe_from_dict(json.loads(dumps_recipe(recipe))) == recipe
    area = rasterize_area_a(background.mask, 20, 30)
    assert area[0, 0] == 1.0 and area[8, 9] == 0.0  # the whole frame, minus the face


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["lights"][1]["knobs"].__setitem__("degree", 5),
         r"^lights\[1\]\.knobs\.degree must be in"),
        (lambda d: d["lights"][0]["mask"]["shapes"][0].pop("rx"),
         r"^lights\[0\]\.mask\.shapes\[0\]\.rx is missing"),
        (lambda d: d["lights"][2].__setitem__("name", ""), r"^lights\[2\]\.name must be"),
        (lambda d: d["lights"][2].__setitem__("visible", "yes"),
         r"^lights\[2\]\.visible must be true or false"),
        (lambda d: d["lights"][0].__setitem__("colour", 1), r"unknown key 'colour' in lights\[0\]"),
        (lambda d: d.__setitem__("lights", {}), "lights must be a list"),
        (lambda d: d.__setitem__("knobs", {}), "unknown key 'knobs' at the top level"),
        (lambda d: d.__setitem__("lights", [d["lights"][0]] * 40), "at most 32 lights"),
    ],
)
def test_light_errors_name_the_light_and_field(change, message) -> None:
    doc = _lights_doc()
    change(doc)
    with pytest.raises(RecipeError, match=message):
        recipe_from_dict(doc)


def test_a_luminance_range_is_saved_only_when_set_and_checked() -> None:
    ranged = Recipe(mask=MaskSpec(range_low=0.1, range_high=0.6, range_soft=0.05))
    mask = recipe_to_dict(ranged)["lights"][0]["mask"]
    assert (mask["range_low"], mask["range_high"], mask["range_soft"]) == (0.1, 0.6, 0.05)
    assert recipe_from_dict(recipe_to_dict(ranged)) == ranged
    assert "range_low" not in recipe_to_dict(Recipe())["lights"][0]["mask"]
    doc = recipe_to_dict(ranged)
    doc["lights"][0]["mask"]["range_low"] = 0.7
    with pytest.raises(RecipeError, match=r"^lights\[0\]\.mask\.range_low must be below"):
        recipe_from_dict(doc)


def test_luminance_range_rolls_off_softly() -> None:
    from limelight.core.masks import luminance_range

    ramp = np.repeat(np.linspace(0, 1, 201, dtype=np.float32)[None, :, None], 3, axis=2)
    ramp = np.repeat(ramp, 40, axis=0)
    r = luminance_range(ramp, 0.0, 0.5, 0.2)[20]
    assert r[:90].min() == pytest.approx(1.0, abs=1e-3)  # inside: whole
    assert r[150:].max() == pytest.approx(0.0, abs=1e-3)  # beyond the roll-off: none
    mid = r[100:140]
    assert np.all(np.diff(mid) <= 1e-6) and 0.05 < mid[10] < 0.95  # a smooth fall
