#!/usr/bin/env bash
# Editor drag-and-drop test: runs the standalone under Xvfb, drags a real audio file from a GTK 3
# drag source (tests/drag_source.py, XDND with text/uri-list, driven by xdotool) onto pad 6 of
# the editor while pad 1 is selected, and checks that
#   - the drag source's drop was accepted as a copy,
#   - pad 6 (and only pad 6) was highlighted while the file hovered over it,
#   - the editor encoded the file onto pad 6 and anchored pad 6 to it (its log), and
#   - pad 6's waveform changed (screenshots before / after, pad 6 selected in both).
#
# usage: tests/drop.sh [STANDALONE [OUT_DIR]]
#   STANDALONE  default target/release/ndm-standalone
#   OUT_DIR     default target/test-artifacts (editor-drop-*.png, drop-*.log)
# needs: apt-get install -y xvfb xauth xdotool imagemagick python3-gi gir1.2-gtk-3.0
#
# Environment (all optional):
#   NDM_DROP_FILE        the file to drop (default core/tests/fixtures/recordings/bd_haus.flac)
#   NDM_GTK_PYTHON       a python3 with GTK 3 bindings (default /usr/bin/python3)
#   NDM_XVFB_DISPLAY     display number to try first (default 120; the next free one is used)
#   NDM_WINDOW_TIMEOUT   seconds to wait for the editor window (default 60)
#   NDM_SOUND_TIMEOUT    seconds to wait for the first pad sound (default 90)
#   NDM_ENCODE_TIMEOUT   seconds to wait for the encode and the new pad sound (default 120)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-$ROOT/target/release/ndm-standalone}
OUT=${2:-$ROOT/target/test-artifacts}
FILE=${NDM_DROP_FILE:-$ROOT/core/tests/fixtures/recordings/bd_haus.flac}
GTK_PY=${NDM_GTK_PYTHON:-/usr/bin/python3}
TITLE="Neural Drum Machine"
SOURCE_TITLE="ndm drag source"
# Colours the editor draws (plugin/src/editor.rs, waveform.rs): the selected pad, a pad files
# hover over, the waveform's background and its trace.
SELECTED="rgb(70,90,140)"
DROP_HIGHLIGHT="rgb(60,140,90)"
WAVE_BG="rgb(20,23,28)"
WAVE_TRACE="rgb(110,210,160)"
TARGET_PAD=6   # 1-based; row 2, column 2 of the grid

log() { echo "drop.sh: $*" >&2; }
die() { log "FAIL: $*"; exit 1; }

[ -x "$BIN" ] || die "standalone not found at $BIN (cargo build --release -p ndm-plugin --features standalone --bin ndm-standalone)"
for tool in Xvfb xdotool import compare convert; do
    command -v "$tool" >/dev/null || die "$tool is missing: apt-get install -y xvfb xauth xdotool imagemagick"
done
"$GTK_PY" -c 'import gi; gi.require_version("Gtk", "3.0"); from gi.repository import Gtk' 2>/dev/null \
    || die "$GTK_PY has no GTK 3 bindings: apt-get install -y python3-gi gir1.2-gtk-3.0"
[ -f "$FILE" ] || die "no file to drop at $FILE"
FILE=$(cd "$(dirname "$FILE")" && pwd)/$(basename "$FILE")
mkdir -p "$OUT"
APP_LOG="$OUT/drop-standalone.log"
SRC_LOG="$OUT/drop-source.log"

XVFB_PID=""
APP_PID=""
SRC_PID=""
cleanup() {
    for pid in "$SRC_PID" "$APP_PID"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    if [ -n "$XVFB_PID" ] && kill -0 "$XVFB_PID" 2>/dev/null; then
        kill -TERM "$XVFB_PID" 2>/dev/null || true
        wait "$XVFB_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

# --- Xvfb on the first free display
num=${NDM_XVFB_DISPLAY:-120}
while [ -e "/tmp/.X${num}-lock" ] || [ -e "/tmp/.X11-unix/X${num}" ]; do
    num=$((num + 1))
    [ "$num" -lt 250 ] || die "no free X display number"
done
export DISPLAY=":$num"
Xvfb "$DISPLAY" -screen 0 1920x1200x24 -nolisten tcp >"$OUT/drop-xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 100); do
    xdotool getdisplaygeometry >/dev/null 2>&1 && break
    kill -0 "$XVFB_PID" 2>/dev/null || die "Xvfb exited (see $OUT/drop-xvfb.log)"
    sleep 0.1
done
xdotool getdisplaygeometry >/dev/null 2>&1 || die "Xvfb did not come up on $DISPLAY"
log "Xvfb on $DISPLAY"

# --- the standalone
NICE_LOG=stderr "$BIN" --backend dummy >"$APP_LOG" 2>&1 &
APP_PID=$!
WID=$(timeout "${NDM_WINDOW_TIMEOUT:-60}" xdotool search --sync --onlyvisible --name "^$TITLE\$" 2>/dev/null | head -n1 || true)
[ -n "$WID" ] || { tail -n 30 "$APP_LOG" >&2; die "no visible window named \"$TITLE\""; }
eval "$(xdotool getwindowgeometry --shell "$WID")"   # X Y WIDTH HEIGHT SCREEN WINDOW
log "editor window $WID at ${X},${Y} size ${WIDTH}x${HEIGHT}"
alive() { kill -0 "$APP_PID" 2>/dev/null || { tail -n 30 "$APP_LOG" >&2; die "the standalone died ($1)"; }; }

# shot NAME: the editor window -> $OUT/editor-drop-NAME.png
shot() {
    import -window root "$OUT/drop-root.png"
    convert "$OUT/drop-root.png" -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$OUT/editor-drop-$1.png"
    rm -f "$OUT/drop-root.png"
}
# count IMAGE COLOUR: pixels of exactly that colour
count() {
    convert "$1" -fill black +opaque "$2" -fill white -opaque "$2" -colorspace Gray -format "%[fx:round(mean*w*h)]" info:
}
# bbox IMAGE COLOUR: "W H X Y" of the pixels of that colour
bbox() {
    local g
    g=$(convert "$1" -fill black +opaque "$2" -fill white -opaque "$2" -format "%@" info:)
    [[ "$g" =~ ^([0-9]+)x([0-9]+)\+([0-9]+)\+([0-9]+)$ ]] || die "no $2 in $1 ($g)"
    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"
}
# Pointer parked where it hovers nothing (top-right corner of the window).
park() { xdotool mousemove "$((X + WIDTH - 4))" "$((Y + 4))"; }

# --- wait for the first pad sound (the model loads at activation)
park
waited=0
while :; do
    alive "loading"
    shot start
    [ "$(count "$OUT/editor-drop-start.png" "$WAVE_TRACE")" -gt 50 ] && break
    [ "$waited" -lt "${NDM_SOUND_TIMEOUT:-90}" ] || { tail -n 30 "$APP_LOG" >&2; die "no pad sound on the waveform after ${waited} s"; }
    sleep 1
    waited=$((waited + 1))
done
log "first pad sound after ${waited} s"

# --- the grid from the selected pad 1; pad 6 is one row down, one column right
read -r PW PH PX PY <<<"$(bbox "$OUT/editor-drop-start.png" "$SELECTED")"
[ "$PW" -gt 40 ] && [ "$PH" -gt 25 ] || die "pad 1 not found (selected colour box ${PW}x${PH})"
col=$(((TARGET_PAD - 1) % 4))
row=$(((TARGET_PAD - 1) / 4))
# Grid spacing is 6 points; the scale factor is 1 under Xvfb.
TX=$((X + PX + col * (PW + 6) + PW / 2))
TY=$((Y + PY + row * (PH + 6) + PH / 2))
log "pad 1 at ${PX},${PY} (${PW}x${PH}); pad $TARGET_PAD centre on screen ${TX},${TY}"

# --- select pad 6 to see its sound before the drop, then select pad 1 again
xdotool mousemove --sync "$TX" "$TY"
sleep 0.2
xdotool click 1
sleep 0.3
park
sleep 1.5
alive "selecting pad $TARGET_PAD"
shot before
read -r SW SH SX SY <<<"$(bbox "$OUT/editor-drop-before.png" "$SELECTED")"
[ "$SX" -gt "$PX" ] && [ "$SY" -gt "$PY" ] || die "clicking pad $TARGET_PAD did not select it (selected box at ${SX},${SY})"
read -r WW WH WX WY <<<"$(bbox "$OUT/editor-drop-before.png" "$WAVE_BG")"
# The left 70 % of it: the trace, not the caption (top right), whose timing changes anyway.
WAVE_GEOM="$((WW * 7 / 10))x${WH}+${WX}+${WY}"
log "waveform at $WAVE_GEOM"
xdotool mousemove --sync "$((X + PX + PW / 2))" "$((Y + PY + PH / 2))"
xdotool click 1
sleep 0.3
park
sleep 0.5

# --- the drag source
GDK_BACKEND=x11 NO_AT_BRIDGE=1 "$GTK_PY" "$ROOT/tests/drag_source.py" "$FILE" 1300 100 >"$SRC_LOG" 2>&1 &
SRC_PID=$!
SWID=$(timeout 30 xdotool search --sync --onlyvisible --name "^$SOURCE_TITLE\$" 2>/dev/null | head -n1 || true)
[ -n "$SWID" ] || { cat "$SRC_LOG" >&2; die "the GTK drag source did not open"; }
for _ in $(seq 50); do grep -q '^ready' "$SRC_LOG" && break; sleep 0.1; done
eval "$(xdotool getwindowgeometry --shell "$SWID" | sed 's/^/S_/')"
SCX=$((S_X + S_WIDTH / 2))
SCY=$((S_Y + S_HEIGHT / 2))
log "drag source at ${S_X},${S_Y} (${S_WIDTH}x${S_HEIGHT}), dragging $FILE"

# --- drag: press on the source, move past GTK's threshold, travel to pad 6, hover, release
xdotool mousemove --sync "$SCX" "$SCY"
sleep 0.3
xdotool mousedown 1
sleep 0.2
for i in $(seq 1 8); do xdotool mousemove "$((SCX - i * 4))" "$((SCY + i * 2))"; sleep 0.05; done
STEPS=30
FX=$((SCX - 32))
FY=$((SCY + 16))
for i in $(seq 1 $STEPS); do
    xdotool mousemove "$((FX + (TX - FX) * i / STEPS))" "$((FY + (TY - FY) * i / STEPS))"
    sleep 0.04
done
for d in 1 2 3 2 1 0; do xdotool mousemove "$((TX + d))" "$TY"; sleep 0.1; done
sleep 0.8
shot hover
xdotool mouseup 1
sleep 1
park
alive "the drop"

grep -q '^drag-end copy' "$SRC_LOG" || { cat "$SRC_LOG" >&2; die "the drag source did not report a copy (see $SRC_LOG)"; }
log "drag source: $(grep '^drag-end' "$SRC_LOG")"
HOVER_PX=$(count "$OUT/editor-drop-hover.png" "$DROP_HIGHLIGHT")
log "drop highlight while hovering: $HOVER_PX pixels"
[ "$HOVER_PX" -gt 500 ] || die "no pad was highlighted while the file hovered (see $OUT/editor-drop-hover.png)"
read -r HW HH HX HY <<<"$(bbox "$OUT/editor-drop-hover.png" "$DROP_HIGHLIGHT")"
[ "$HX" -ge "$((TX - X - PW))" ] && [ "$HX" -le "$((TX - X))" ] && [ "$HY" -ge "$((TY - Y - PH))" ] && [ "$HY" -le "$((TY - Y))" ] \
    && [ "$HW" -le "$((PW + 8))" ] || die "the highlight (${HW}x${HH}+${HX}+${HY}) is not pad $TARGET_PAD alone"
grep -q "file(s) dropped" "$APP_LOG" || { tail -n 30 "$APP_LOG" >&2; die "the editor saw no drop"; }
grep -q "encoding $FILE onto pad $TARGET_PAD\$" "$APP_LOG" || { tail -n 30 "$APP_LOG" >&2; die "the editor did not encode the file onto pad $TARGET_PAD"; }
log "editor: $(grep -o 'encoding .* onto pad [0-9]*' "$APP_LOG" | tail -n1)"

# --- wait for the encode (pad 6 anchored), then for pad 6's new sound on the waveform
waited=0
until grep -q "pad $TARGET_PAD anchored to the encoded sample" "$APP_LOG"; do
    alive "encoding"
    [ "$waited" -lt "${NDM_ENCODE_TIMEOUT:-120}" ] || { tail -n 30 "$APP_LOG" >&2; die "pad $TARGET_PAD was not anchored within ${waited} s"; }
    sleep 1
    waited=$((waited + 1))
done
log "pad $TARGET_PAD anchored after ${waited} s"
differ() {
    convert "$OUT/editor-drop-before.png" -crop "$WAVE_GEOM" +repage "$OUT/editor-drop-wave-before.png"
    convert "$OUT/editor-drop-after.png" -crop "$WAVE_GEOM" +repage "$OUT/editor-drop-wave-after.png"
    local ae rc
    set +e
    ae=$(compare -metric AE "$OUT/editor-drop-wave-before.png" "$OUT/editor-drop-wave-after.png" "$OUT/editor-drop-wave-diff.png" 2>&1 >/dev/null)
    rc=$?
    set -e
    [ "$rc" -le 1 ] || die "compare failed (rc $rc): $ae"
    awk -v n="${ae%% *}" 'BEGIN { printf "%d", n + 0 }'
}
WAVE_AE=0
while :; do
    alive "regenerating"
    shot after
    read -r AW AH AX AY <<<"$(bbox "$OUT/editor-drop-after.png" "$SELECTED")"
    if [ "$AX" -eq "$SX" ] && [ "$AY" -eq "$SY" ]; then
        WAVE_AE=$(differ)
        [ "$WAVE_AE" -gt 0 ] && [ "$(count "$OUT/editor-drop-after.png" "$WAVE_TRACE")" -gt 50 ] && break
    fi
    [ "$waited" -lt "${NDM_ENCODE_TIMEOUT:-120}" ] || die "pad $TARGET_PAD's waveform did not change (selected box at ${AX},${AY}; see $OUT/editor-drop-wave-*.png)"
    sleep 1
    waited=$((waited + 1))
done
log "pad $TARGET_PAD selected after the drop; waveform $WAVE_GEOM: $WAVE_AE pixels differ"
[ "$(count "$OUT/editor-drop-after.png" "$DROP_HIGHLIGHT")" -lt 50 ] || die "the drop highlight stayed after the drop"

kill -TERM "$APP_PID" 2>/dev/null || true
for _ in $(seq 50); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$APP_PID" 2>/dev/null && die "the standalone did not exit within 5 s of SIGTERM"
APP_PID=""
log "OK: screenshots in $OUT (editor-drop-before.png, editor-drop-hover.png, editor-drop-after.png, editor-drop-wave-diff.png)"
