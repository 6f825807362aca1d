#!/usr/bin/env bash
# Editor screenshot test: runs the standalone under Xvfb, screenshots the editor, drags across
# the XY pad with xdotool, screenshots again, and fails when nothing changed in the pad/waveform
# region.
#
# usage: tests/screenshot.sh [STANDALONE [OUT_DIR]]
#   STANDALONE  default target/release/ndm-standalone
#               (cargo build --release -p ndm-plugin --features standalone --bin ndm-standalone)
#   OUT_DIR     default target/test-artifacts
# needs: apt-get install -y xvfb xauth xdotool imagemagick
#
# Environment (all optional):
#   NDM_XVFB_DISPLAY   display number to try first (default 99; the next free one is used)
#   NDM_PAD            the XY pad as fractions of the window: "x0 y0 x1 y1"
#   NDM_WAVE           the waveform display as fractions of the window: "x0 y0 x1 y1"
#   NDM_WAVE_TIMEOUT   seconds to wait for the waveform to show the regenerated sound (default 15)
#   NDM_WINDOW_TIMEOUT seconds to wait for the editor window (default 60)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-$ROOT/target/release/ndm-standalone}
OUT=${2:-$ROOT/target/test-artifacts}
TITLE="Neural Drum Machine"
# Fractions of the editor window; see the screenshots in $OUT when the layout changes.
read -r PAD_X0 PAD_Y0 PAD_X1 PAD_Y1 <<<"${NDM_PAD:-0.011 0.455 0.277 0.777}"
read -r WAVE_X0 WAVE_Y0 WAVE_X1 WAVE_Y1 <<<"${NDM_WAVE:-0.011 0.792 0.989 0.883}"
WINDOW_TIMEOUT=${NDM_WINDOW_TIMEOUT:-60}

log() { echo "screenshot.sh: $*" >&2; }
die() { log "FAIL: $*"; exit 1; }

[ -x "$BIN" ] || die "standalone not found at $BIN (cargo build --release -p ndm-plugin --features standalone --bin ndm-standalone)"
for tool in Xvfb xdotool import compare convert; do
    command -v "$tool" >/dev/null || die "$tool is missing: apt-get install -y xvfb xauth xdotool imagemagick"
done
mkdir -p "$OUT"

XVFB_PID=""
APP_PID=""
cleanup() {
    if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
        kill -KILL "$APP_PID" 2>/dev/null || true
    fi
    if [ -n "$XVFB_PID" ] && kill -0 "$XVFB_PID" 2>/dev/null; then
        kill -TERM "$XVFB_PID" 2>/dev/null || true
        wait "$XVFB_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

# --- Xvfb on the first free display from $NDM_XVFB_DISPLAY (99) on
num=${NDM_XVFB_DISPLAY:-99}
while [ -e "/tmp/.X${num}-lock" ] || [ -e "/tmp/.X11-unix/X${num}" ]; do
    num=$((num + 1))
    [ "$num" -lt 200 ] || die "no free X display number"
done
export DISPLAY=":$num"
Xvfb "$DISPLAY" -screen 0 1920x1200x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 100); do
    xdotool getdisplaygeometry >/dev/null 2>&1 && break
    kill -0 "$XVFB_PID" 2>/dev/null || die "Xvfb exited (see $OUT/xvfb.log)"
    sleep 0.1
done
xdotool getdisplaygeometry >/dev/null 2>&1 || die "Xvfb did not come up on $DISPLAY"
log "Xvfb on $DISPLAY"

# --- the standalone
"$BIN" --backend dummy >"$OUT/standalone.log" 2>&1 &
APP_PID=$!
WID=$(timeout "$WINDOW_TIMEOUT" xdotool search --sync --onlyvisible --name "$TITLE" 2>/dev/null | head -n1 || true)
if [ -z "$WID" ]; then
    kill -0 "$APP_PID" 2>/dev/null || { tail -n 30 "$OUT/standalone.log" >&2; die "the standalone exited before opening its window"; }
    tail -n 30 "$OUT/standalone.log" >&2
    die "no visible window named \"$TITLE\" after ${WINDOW_TIMEOUT} s"
fi
eval "$(xdotool getwindowgeometry --shell "$WID")"   # X Y WIDTH HEIGHT SCREEN WINDOW
log "window $WID at ${X},${Y} size ${WIDTH}x${HEIGHT}"
[ "$WIDTH" -ge 200 ] && [ "$HEIGHT" -ge 200 ] || die "the editor window is only ${WIDTH}x${HEIGHT}"

# Let the editor draw its first frames and the worker generate the first sound (waveform).
sleep "${NDM_SETTLE_S:-4}"
kill -0 "$APP_PID" 2>/dev/null || { tail -n 30 "$OUT/standalone.log" >&2; die "the standalone died"; }

px() { awk -v a="$1" -v f="$2" -v w="$3" 'BEGIN { printf "%d", a + f * w }'; }
# geom x0 y0 x1 y1 (fractions of the window) -> ImageMagick crop geometry in screen pixels
geom() {
    awk -v x0="$1" -v y0="$2" -v x1="$3" -v y1="$4" -v X="$X" -v Y="$Y" -v W="$WIDTH" -v H="$HEIGHT" \
        'BEGIN { printf "%dx%d+%d+%d", (x1 - x0) * W, (y1 - y0) * H, X + x0 * W, Y + y0 * H }'
}
PAD_GEOM=$(geom "$PAD_X0" "$PAD_Y0" "$PAD_X1" "$PAD_Y1")
WAVE_GEOM=$(geom "$WAVE_X0" "$WAVE_Y0" "$WAVE_X1" "$WAVE_Y1")
# differing NAME GEOM A B: prints how many pixels of region GEOM differ between screenshots A and B
differing() {
    convert "$3" -crop "$2" +repage "$OUT/editor-$1-before.png"
    convert "$4" -crop "$2" +repage "$OUT/editor-$1-after.png"
    local ae rc
    set +e
    ae=$(compare -metric AE "$OUT/editor-$1-before.png" "$OUT/editor-$1-after.png" "$OUT/editor-$1-diff.png" 2>&1 >/dev/null)
    rc=$?
    set -e
    [ "$rc" -le 1 ] || die "compare failed (rc $rc): $ae"
    awk -v n="${ae%% *}" 'BEGIN { printf "%d", n + 0 }'
}

BEFORE="$OUT/editor-before.png"
AFTER="$OUT/editor-after.png"
import -window root "$BEFORE"
convert "$BEFORE" -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$OUT/editor-window-before.png"

# The screenshot must show something (not one flat colour).
SD=$(convert "$OUT/editor-window-before.png" -colorspace Gray -format "%[fx:standard_deviation]" info:)
log "window standard deviation (0..1): $SD"
awk -v s="$SD" 'BEGIN { exit !(s > 0.01) }' || die "the editor window is blank (flat colour): see $OUT/editor-window-before.png"

# --- drag across the pad: from its lower-left quarter to its upper-right quarter
SX=$(px "$X" "$(awk -v a="$PAD_X0" -v b="$PAD_X1" 'BEGIN{print a + 0.25*(b-a)}')" "$WIDTH")
SY=$(px "$Y" "$(awk -v a="$PAD_Y0" -v b="$PAD_Y1" 'BEGIN{print a + 0.75*(b-a)}')" "$HEIGHT")
EX=$(px "$X" "$(awk -v a="$PAD_X0" -v b="$PAD_X1" 'BEGIN{print a + 0.80*(b-a)}')" "$WIDTH")
EY=$(px "$Y" "$(awk -v a="$PAD_Y0" -v b="$PAD_Y1" 'BEGIN{print a + 0.20*(b-a)}')" "$HEIGHT")
log "drag ($SX,$SY) -> ($EX,$EY)"
xdotool mousemove --sync "$SX" "$SY"
sleep 0.3
xdotool mousedown 1
sleep 0.1
STEPS=20
for i in $(seq 1 $STEPS); do
    mx=$(awk -v s="$SX" -v e="$EX" -v i="$i" -v n="$STEPS" 'BEGIN { printf "%d", s + (e - s) * i / n }')
    my=$(awk -v s="$SY" -v e="$EY" -v i="$i" -v n="$STEPS" 'BEGIN { printf "%d", s + (e - s) * i / n }')
    xdotool mousemove "$mx" "$my"
    sleep 0.03
done
sleep 0.1
xdotool mouseup 1
# Move away so hover highlights do not count as a change, then let the sound regenerate.
xdotool mousemove "$((X + WIDTH - 2))" "$((Y + HEIGHT - 2))"
sleep "${NDM_AFTER_DRAG_S:-3}"
kill -0 "$APP_PID" 2>/dev/null || { tail -n 30 "$OUT/standalone.log" >&2; die "the standalone died during the drag"; }

import -window root "$AFTER"
convert "$AFTER" -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$OUT/editor-window-after.png"

# --- compare: the pad must show the moved handle; the waveform must show the new sound (poll:
# the worker may still be generating on a loaded machine)
PAD_AE=$(differing pad "$PAD_GEOM" "$BEFORE" "$AFTER")
[[ "$PAD_AE" =~ ^[0-9]+$ ]] || die "could not compare the pad region"
log "pad region $PAD_GEOM: $PAD_AE pixels differ"
WAVE_AE=$(differing wave "$WAVE_GEOM" "$BEFORE" "$AFTER")
[[ "$WAVE_AE" =~ ^[0-9]+$ ]] || die "could not compare the waveform region"
waited=0
while [ "$WAVE_AE" -eq 0 ] && [ "$waited" -lt "${NDM_WAVE_TIMEOUT:-15}" ]; do
    sleep 1
    waited=$((waited + 1))
    import -window root "$AFTER"
    WAVE_AE=$(differing wave "$WAVE_GEOM" "$BEFORE" "$AFTER")
    [[ "$WAVE_AE" =~ ^[0-9]+$ ]] || die "could not compare the waveform region"
done
convert "$AFTER" -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$OUT/editor-window-after.png"
log "waveform region $WAVE_GEOM: $WAVE_AE pixels differ"

# --- stop the standalone with SIGTERM (it ignores SIGINT while its window is open)
kill -TERM "$APP_PID" 2>/dev/null || true
for _ in $(seq 50); do
    kill -0 "$APP_PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$APP_PID" 2>/dev/null; then
    die "the standalone did not exit within 5 s of SIGTERM"
fi
set +e
wait "$APP_PID"
APP_RC=$?
set -e
APP_PID=""
log "standalone exited with status $APP_RC after SIGTERM"

[ "$PAD_AE" -gt 0 ] || die "dragging across the XY pad did not change the pad ($PAD_GEOM); see $OUT/editor-pad-*.png"
[ "$WAVE_AE" -gt 0 ] || die "the waveform did not change after dragging the XY pad ($WAVE_GEOM); see $OUT/editor-wave-*.png"
log "OK: screenshots in $OUT (editor-window-before.png, editor-window-after.png, editor-{pad,wave}-diff.png)"
