#!/usr/bin/env bash
# Builds the Limelight one-folder desktop bundle and its archive:
#   dist/limelight-<version>/                       the folder (limelight, limelight-editor)
#   dist/limelight-<version>-linux-x86_64.tar.gz    the archive a photographer downloads
#   dist/limelight-<version>-build-report.txt       build time, sizes, content checks
#
# Usage: packaging/build.sh [--worktree] [--with-cuda] [--smoke]
#   --worktree   build from the working tree (uncommitted files included) instead of HEAD
#   --with-cuda  keep ONNX Runtime's CUDA/TensorRT providers (+285 MB; needs system CUDA)
#   --smoke      run packaging/smoke_check.py on the archive afterwards
# Environment: LIMELIGHT_PACK_VENV (default /tmp/venv-pack), NICE (default 10).
#
# Limelight is installed NON-editable (from a wheel built from a clean export of the source)
# into a separate venv that holds only its runtime dependencies and PyInstaller, so nothing
# from the source tree, the training extras or the developer tools can leak into the bundle.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LIMELIGHT_PACK_VENV:-/tmp/venv-pack}"
NICE="${NICE:-10}"
PYINSTALLER_PIN="pyinstaller==6.22.3"
HOOKS_PIN="pyinstaller-hooks-contrib==2026.9"
SOURCE=head
SMOKE=0
export LIMELIGHT_BUNDLE_CUDA=0
for arg in "$@"; do
    case "$arg" in
        --worktree) SOURCE=worktree ;;
        --with-cuda) LIMELIGHT_BUNDLE_CUDA=1 ;;
        --smoke) SMOKE=1 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done

log() { printf '[build %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# The version is defined once, in pyproject.toml.
VERSION="$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$REPO/pyproject.toml")"
[[ -n "$VERSION" ]] || die "no [project].version in $REPO/pyproject.toml"
NAME="limelight-$VERSION"
ARCHIVE="$NAME-linux-x86_64.tar.gz"
STAGE="$(mktemp -d /tmp/limelight-pack.XXXXXX)"
[[ "${KEEP_STAGE:-0}" == 1 ]] || trap 'rm -rf "$STAGE"' EXIT
START=$SECONDS
log "Limelight $VERSION, source: $SOURCE, stage: $STAGE"

# 1. A clean export of the source (HEAD by default: what is released is what is committed).
mkdir -p "$STAGE/src"
if [[ "$SOURCE" == head ]]; then
    git -C "$REPO" archive --format=tar HEAD | tar -x -C "$STAGE/src"
    if [[ -n "$(git -C "$REPO" status --porcelain -- packaging resources app pyproject.toml)" ]]; then
        log "note: the working tree has uncommitted changes; building HEAD (use --worktree for them)"
    fi
else
    (cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
        | tar --null --ignore-failed-read -T - -cf -) | tar -x -C "$STAGE/src"
fi

# 2. The packing venv: runtime dependencies + PyInstaller, Limelight from a wheel.
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install --quiet "$PYINSTALLER_PIN" "$HOOKS_PIN"
log "building the wheel"
nice -n "$NICE" "${PIP[@]}" wheel --quiet --no-deps -w "$STAGE/wheel" "$STAGE/src" 2>"$STAGE/wheel.log" \
    || { cat "$STAGE/wheel.log" >&2; die "the wheel did not build"; }
WHEEL="$(ls "$STAGE"/wheel/limelight-*.whl)"
"${PIP[@]}" install --quiet "$WHEEL"
"${PIP[@]}" install --quiet --no-deps --force-reinstall "$WHEEL"
# Training and developer packages must not be importable in the packing venv at all.
for mod in torch onnx pytest limelight_models; do
    if "$VENV/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$mod') is None)" 2>/dev/null; then
        if [[ "$mod" == limelight_models ]]; then
            log "note: the wheel carries limelight_models; the spec excludes it from the bundle"
        else
            die "$VENV has '$mod' installed; use a venv with only the runtime dependencies"
        fi
    fi
done
INSTALLED="$(cd "$STAGE" && "$VENV/bin/python" -c 'import limelight, importlib.metadata as m; print(m.version("limelight"), limelight.__file__)')"
read -r INSTALLED_VERSION INSTALLED_FILE <<<"$INSTALLED"
[[ "$INSTALLED_VERSION" == "$VERSION" ]] || die "installed version $INSTALLED_VERSION != pyproject $VERSION"
[[ "$INSTALLED_FILE" == "$VENV"/* ]] || die "limelight imports from $INSTALLED_FILE, not from $VENV (editable install?)"
log "limelight $INSTALLED_VERSION installed non-editable at $INSTALLED_FILE"

# 3. PyInstaller (from inside the stage, so the source tree is not on sys.path).
log "running PyInstaller (nice $NICE)"
PYI_START=$SECONDS
(cd "$STAGE" && nice -n "$NICE" "$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$STAGE/dist" --workpath "$STAGE/work" "$STAGE/src/packaging/limelight.spec") \
    >"$STAGE/pyinstaller.log" 2>&1 || { tail -40 "$STAGE/pyinstaller.log" >&2; die "PyInstaller failed"; }
PYI_SECONDS=$((SECONDS - PYI_START))
BUNDLE="$STAGE/dist/limelight"

# 4. Linux desktop integration inside the folder: .desktop entry, icons, per-user installer.
SHARE="$BUNDLE/share"
install -Dm644 "$STAGE/src/packaging/limelight.desktop" "$SHARE/applications/limelight.desktop"
install -Dm644 "$STAGE/src/packaging/icons/limelight.svg" "$SHARE/icons/hicolor/scalable/apps/limelight.svg"
for size in 256 128 64 48; do
    install -Dm644 "$STAGE/src/packaging/icons/limelight-$size.png" \
        "$SHARE/icons/hicolor/${size}x${size}/apps/limelight.png"
done
install -m755 "$STAGE/src/packaging/linux/install.sh" "$BUNDLE/install.sh"
GLIBC="$("$VENV/bin/python" -c 'import sys; sys.path.insert(0, sys.argv[1]); import check_bundle as c; print(c.required_glibc(__import__("pathlib").Path(sys.argv[2])) or "of the build machine")' "$STAGE/src/packaging" "$BUNDLE")"
sed "s|@GLIBC@|$GLIBC|" "$STAGE/src/packaging/linux/README.txt" >"$BUNDLE/README.txt"
printf '%s\n' "$VERSION" >"$BUNDLE/VERSION"

# 5. Content checks: what must be in, what must stay out.
"$VENV/bin/python" "$STAGE/src/packaging/check_bundle.py" "$BUNDLE" --pyz-toc "$STAGE/work/limelight/PYZ-00.toc" \
    --cuda "$LIMELIGHT_BUNDLE_CUDA" >"$STAGE/contents.txt" || { cat "$STAGE/contents.txt" >&2; die "bundle content check failed"; }

# 6. Archive: a top folder named limelight-<version>.
mkdir -p "$REPO/dist"
rm -rf "${REPO:?}/dist/$NAME" "$REPO/dist/$ARCHIVE"
mv "$BUNDLE" "$REPO/dist/$NAME"
log "archiving"
(cd "$REPO/dist" && nice -n "$NICE" tar -czf "$ARCHIVE" "$NAME")
TOTAL=$((SECONDS - START))

REPORT="$REPO/dist/$NAME-build-report.txt"
{
    echo "Limelight $VERSION bundle, built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $SOURCE ($(git -C "$REPO" rev-parse --short HEAD))"
    echo "tools: $("$VENV/bin/pyinstaller" --version | sed 's/^/PyInstaller /'), $("$VENV/bin/python" --version), CUDA providers: $LIMELIGHT_BUNDLE_CUDA"
    echo "build time: ${TOTAL} s total, ${PYI_SECONDS} s PyInstaller (nice $NICE, $(nproc) cores shared)"
    echo "size on disk: $(du -sh "$REPO/dist/$NAME" | cut -f1) ($(du -sb "$REPO/dist/$NAME" | cut -f1) bytes, $(find "$REPO/dist/$NAME" -type f | wc -l) files)"
    echo "archive: $ARCHIVE $(du -h "$REPO/dist/$ARCHIVE" | cut -f1) ($(stat -c %s "$REPO/dist/$ARCHIVE") bytes)"
    cat "$STAGE/contents.txt"
} >"$REPORT"
cat "$REPORT"
log "done: $REPO/dist/$ARCHIVE"

if [[ "$SMOKE" == 1 ]]; then
    python3 "$REPO/packaging/smoke_check.py" "$REPO/dist/$ARCHIVE"
fi
