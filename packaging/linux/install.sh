#!/usr/bin/env bash
# Per-user desktop integration for an unpacked Limelight bundle (no root needed):
#   ~/.local/bin/limelight, ~/.local/bin/limelight-editor   -> this folder's programs
#   ~/.local/share/applications/limelight.desktop           menu entry (absolute Exec)
#   ~/.local/share/icons/hicolor/*/apps/limelight.*         the icon
# Usage: ./install.sh            install (re-run after moving the folder)
#        ./install.sh --uninstall
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
BIN="$HOME/.local/bin"
ICON_SIZES="256 128 64 48"

if [[ "${1:-}" == "--uninstall" ]]; then
    rm -f "$BIN/limelight" "$BIN/limelight-editor" "$DATA/applications/limelight.desktop"
    rm -f "$DATA/icons/hicolor/scalable/apps/limelight.svg"
    for s in $ICON_SIZES; do rm -f "$DATA/icons/hicolor/${s}x${s}/apps/limelight.png"; done
    echo "Limelight's menu entry and links removed; delete $HERE to remove the program."
    exit 0
fi

mkdir -p "$BIN" "$DATA/applications"
ln -sfn "$HERE/limelight" "$BIN/limelight"
ln -sfn "$HERE/limelight-editor" "$BIN/limelight-editor"
sed -e "s|^Exec=limelight-editor|Exec=\"$HERE/limelight-editor\"|" \
    -e "s|^TryExec=limelight-editor|TryExec=$HERE/limelight-editor|" \
    "$HERE/share/applications/limelight.desktop" >"$DATA/applications/limelight.desktop"
install -Dm644 "$HERE/share/icons/hicolor/scalable/apps/limelight.svg" \
    "$DATA/icons/hicolor/scalable/apps/limelight.svg"
for s in $ICON_SIZES; do
    install -Dm644 "$HERE/share/icons/hicolor/${s}x${s}/apps/limelight.png" \
        "$DATA/icons/hicolor/${s}x${s}/apps/limelight.png"
done
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q "$DATA/icons/hicolor" || true
echo "Limelight installed for $USER: menu entry 'Limelight', commands limelight and limelight-editor in $BIN."
