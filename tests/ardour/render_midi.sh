#!/usr/bin/env bash
# Bounces MIDI notes through an instrument plugin in Ardour 7, headless, the way a musician
# exports a session: a fresh 48 kHz session on Ardour's "None (Dummy)" backend, a MIDI track
# "Drums" holding the plugin, one MIDI region with the notes, the session range 0..RANGE_SEC,
# then ardour7-export (offline, freewheeling) of the master bus to a 32-bit float WAV.
#
# usage: tests/ardour/render_midi.sh PLUGIN OUT.wav "36@0.0 38@0.5:90 ..." [RANGE_SEC]
#   PLUGIN     a .vst3 bundle, or with PLUGIN_TYPE=LV2 an LV2 plugin's name
#              (e.g. Ardour's built-in "ACE Reasonable Synth", to check the pipeline itself)
#   notes      note@seconds[:velocity] (velocity default 100)
#   RANGE_SEC  export length in seconds (default 2)
# env: RATE (default 48000); NDM_ARDOUR_KEEP=1 keeps the work folder (it is kept on failure).
# exit: 0 ok, 1 failure, 2 Ardour is not installed (apt-get install ardour; Debian 12: 7.3).
#
# Facts this relies on (Ardour 7.3, measured on Debian 12):
# - the headless tools (ardour7-lua, ardour7-export) do not scan VST3 plugins themselves: they
#   look for bundles on VST3_PATH and read their scan from Ardour's plugin cache
#   (~/.cache/ardour7/vst/), written by ardour-vst3-scanner;
# - Lua in 7.3 cannot create MIDI regions, so add_midi_region.py edits the session XML;
# - a session folder must be new (a copied one has a tainted interchange/ and Ardour hangs);
# - ardour7-export occasionally aborts with "double free or corruption": retried once; the
#   session set-up has been seen to abort once on a first run ("Port already exists"): retried
#   once in a new folder.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 3 ] || { sed -n '2,12p' "$0" >&2; exit 1; }
plugin=$1
out=$2
notes=$3
range=${4:-2}
rate=${RATE:-48000}
ptype=${PLUGIN_TYPE:-VST3}

log() { echo "render_midi.sh: $*" >&2; }
scanner=/usr/lib/ardour7/ardour-vst3-scanner
for tool in ardour7-lua ardour7-export python3; do
    command -v "$tool" >/dev/null || { log "$tool not found: apt-get install ardour"; exit 2; }
done
[ "$ptype" = LV2 ] || [ -x "$scanner" ] || { log "$scanner not found: apt-get install ardour"; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ndm-ardour.XXXXXX")
fail() {
    log "FAIL: $*"
    for f in "$work"/*.log; do
        [ -f "$f" ] || continue
        echo "--- $(basename "$f") (tail)" >&2
        grep -v -e '^lilv_world' -e 'avldrums' -e 'failed to open file /usr/lib/lv2' "$f" | tail -n 25 >&2 || true
    done
    log "work folder kept: $work"
    exit 1
}

if [ "$ptype" = LV2 ]; then
    name=$plugin
else
    [ -d "$plugin" ] || fail "no VST3 bundle at $plugin"
    name=$(basename "$plugin" .vst3)
    # The bundle (a link to it) in a folder of its own, which is the only VST3 search path of
    # ardour7-lua and ardour7-export (VST3_PATH); Ardour caches the scan by the bundle's path.
    mkdir -p "$work/vst3"
    ln -s "$(cd "$plugin" && pwd)" "$work/vst3/$name.vst3"
    export VST3_PATH=$work/vst3
    LD_LIBRARY_PATH=/usr/lib/ardour7 "$scanner" -q -f "$work/vst3/$name.vst3" >"$work/scan.log" 2>&1 \
        || fail "ardour-vst3-scanner could not scan $plugin"
fi

make_session() { # $1 = session folder
    SESS_DIR="$1" SESS_NAME=s RATE="$rate" PLUGIN_NAME="$name" PLUGIN_TYPE="$ptype" \
        timeout 180 ardour7-lua "$here/make_session.lua" >"$work/session.log" 2>&1
}
sess=$work/s1
if ! make_session "$sess"; then
    log "session set-up failed once, retrying in a new folder"
    mv "$work/session.log" "$work/session-1st.log"
    sess=$work/s2
    make_session "$sess" || fail "the session set-up (ardour7-lua make_session.lua) failed twice"
fi
python3 "$here/add_midi_region.py" "$sess" s "$notes" "$range" >"$work/region.log" 2>&1 \
    || fail "adding the MIDI region failed"

export_once() {
    rm -f "$out"
    timeout 300 ardour7-export -b float -s "$rate" -o "$out" "$sess" s >"$work/export.log" 2>&1
}
if ! export_once; then
    if grep -q "double free or corruption" "$work/export.log"; then
        log "ardour7-export aborted (double free or corruption), retrying once"
        mv "$work/export.log" "$work/export-1st.log"
        export_once || fail "ardour7-export failed twice"
    else
        fail "ardour7-export failed"
    fi
fi
[ -s "$out" ] || fail "ardour7-export wrote no file at $out"
if [ "${NDM_ARDOUR_KEEP:-0}" = 1 ]; then
    log "work folder kept: $work"
else
    # Forget this run's scan (a cache file per bundle path) with the folder it points to.
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/ardour7/vst
    if [ -d "$cache" ]; then
        { grep -l -F "bundle=\"$work/" "$cache"/*.v3i 2>/dev/null || true; } | while read -r f; do rm -f "$f"; done
    fi
    rm -rf "$work"
fi
echo "$out"
