#!/usr/bin/env python3
"""Render a General MIDI drum pattern through the bundled Neural Drum Machine VST3 with Spotify's
pedalboard (a JUCE host) and check it against the exact references of `ndm gm-kit`.

Usage: vst3_render.py BUNDLE.vst3 REFS_DIR OUT_DIR

REFS_DIR holds `ndm gm-kit --rate 48000` (pNN_<note>_<class>.wav: every default pad's sound exactly
as the plugin plays it). Checks that
  1. the plugin loads in pedalboard as an instrument;
  2. a *fresh* instance renders a GM pattern (16 notes, one per pad, the first at t = 0) in which
     every note is there, on its sample, with its own pad's sound: the render equals the sum of
     the references placed at the note times (max |diff| tiny), and for every note the residual
     (render minus all the other notes) correlates > 0.999 with that pad's reference;
  3. `raw_state` of that instance, loaded into a *new* instance, renders the same pattern
     bit-identically.
Writes OUT_DIR/vst3-pedalboard-pattern.wav and OUT_DIR/vst3-pedalboard-recall.wav and prints a
JSON summary on the last line. Exits non-zero on failure.

pedalboard waits (about 10 s) for a tail while an instrument's output is silent: every render here
starts with a note at t = 0, so none is silent.
"""

import glob
import json
import os
import sys
import time

import mido
import numpy as np
import pedalboard
from pedalboard.io import AudioFile

RATE = 48000
BLOCK = 512
# Tolerance of "equals the reference": the same engine code made both, only float noise remains.
EXACT_MAX_ABS = 1e-5
MIN_CORRELATION = 0.999
# Pad lengths of the default kit (pad order): the pedal hat and the maracas are shortened, and the
# last fifth of their kept length fades out.
LENGTH = {6: 0.35, 16: 0.6}
# The pattern: (seconds, note), one note per pad, 0.25 s apart (12 000 samples: exact in MIDI
# seconds and in samples). The hats (choke group 1: 42, 44, 46) are far enough apart that no hat
# rings when another one starts, so no choke changes the sum.
PATTERN = [
    (0.00, 36), (0.25, 42), (0.50, 38), (0.75, 39), (1.00, 37), (1.25, 41), (1.50, 45),
    (1.75, 48), (2.00, 49), (2.25, 51), (2.50, 44), (2.75, 62), (3.00, 63), (3.25, 56),
    (3.50, 70), (4.00, 46),
]
TAIL_S = 1.6  # after the last note: longer than the longest sound (the low tom, tuned down)


def fail(msg, **summary):
    summary["ok"] = False
    summary["error"] = msg
    print(json.dumps(summary))
    sys.exit(1)


def load_refs(refs_dir):
    refs = {}
    for path in sorted(glob.glob(os.path.join(refs_dir, "p*_*_*.wav"))):
        stem = os.path.basename(path)[1:-4]
        pad, note, cls = stem.split("_", 2)
        with AudioFile(path) as f:
            if int(f.samplerate) != RATE:
                raise SystemExit(f"{path}: {f.samplerate} Hz, expected {RATE}")
            samples = f.read(f.frames)[0].astype(np.float64)
        refs[int(note)] = {"pad": int(pad), "class": cls, "samples": samples, "path": path}
    return refs


def played(ref):
    """The reference as the pad plays it (length trim with its linear fade) and the mask of the
    samples that are exact (False in the fade, where only |out| <= |ref| is required)."""
    x = ref["samples"].copy()
    exact = np.ones(len(x), dtype=bool)
    length = LENGTH.get(ref["pad"], 1.0)
    if length < 1.0:
        end = len(x) * length
        fade_from = int(np.floor(end * 0.8))
        exact_from = min(int(np.ceil(end)) + 1, len(x))
        exact[fade_from:exact_from] = False
        x[exact_from:] = 0.0
    return x, exact


def expected_mix(refs, frames):
    want = np.zeros(frames)
    exact = np.ones(frames, dtype=bool)
    parts = []
    for t, note in PATTERN:
        at = int(round(t * RATE))
        x, ex = played(refs[note])
        n = min(len(x), frames - at)
        want[at:at + n] += x[:n]
        exact[at:at + n] &= ex[:n]
        parts.append((at, note, x[:n], ex[:n]))
    return want, exact, parts


def render(plugin, duration):
    messages = []
    for t, note in PATTERN:
        messages.append(mido.Message("note_on", note=note, velocity=127, time=t))
        messages.append(mido.Message("note_off", note=note, velocity=0, time=t + 0.1))
    audio = plugin(messages, duration=duration, sample_rate=float(RATE), num_channels=2,
                   buffer_size=BLOCK, reset=True)
    return np.asarray(audio, dtype=np.float32)


def write(path, audio):
    with AudioFile(path, "w", samplerate=RATE, num_channels=audio.shape[0]) as f:
        f.write(audio)


def check_pattern(audio, refs, summary):
    frames = audio.shape[1]
    want, exact, parts = expected_mix(refs, frames)
    left = audio[0].astype(np.float64)
    if float(np.max(np.abs(audio[0] - audio[1]))) != 0.0:
        fail("left and right differ (every pad is centred)", **summary)
    diff = np.abs(left - want)
    max_diff = float(np.max(diff[exact]))
    fade_over = int(np.sum(np.abs(left[~exact]) > np.abs(want[~exact]) + EXACT_MAX_ABS))
    summary["max_abs_diff"] = max_diff
    summary["fade_violations"] = fade_over
    summary["peak"] = float(np.max(np.abs(left)))
    notes = []
    for at, note, x, ex in parts:
        # This note alone: the render minus every other note's expected sound.
        residual = left - (want - np.pad(x, (at, frames - at - len(x))))
        seg = residual[at:at + len(x)]
        m = ex & (np.abs(x) > 0)
        corr = float(np.corrcoef(seg[m], x[m])[0, 1])
        lead = residual[max(0, at - 2000):at]  # nothing of it before its time
        notes.append({
            "t": at / RATE, "note": note, "pad": refs[note]["pad"], "class": refs[note]["class"],
            "correlation": round(corr, 7), "peak": round(float(np.max(np.abs(seg))), 4),
            "max_abs_diff": float(np.max(np.abs(seg[ex] - x[ex]))),
            "before_peak": float(np.max(np.abs(lead))) if len(lead) else 0.0,
        })
    summary["notes"] = notes
    first = int(np.argmax(np.abs(left) > 1e-4))
    first_ref = int(np.argmax(np.abs(want) > 1e-4))
    summary["first_sound_sample"] = first
    if first != first_ref:
        fail(f"the first note (t = 0) is not heard from its first sample: first sound at sample "
             f"{first}, the reference's at {first_ref}", **summary)
    bad = [n for n in notes if not (n["correlation"] > MIN_CORRELATION and n["peak"] > 0.01
                                    and n["before_peak"] <= EXACT_MAX_ABS)]
    if bad:
        fail(f"notes missing, early/late or with the wrong sound: {bad}", **summary)
    if max_diff > EXACT_MAX_ABS or fade_over:
        i = int(np.argmax(np.where(exact, diff, 0)))
        fail(f"the render differs from the references: max |diff| {max_diff} at sample {i} "
             f"({i / RATE:.4f} s), {fade_over} fade samples louder than the reference", **summary)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    bundle, refs_dir, out_dir = sys.argv[1:4]
    summary = {"pedalboard": pedalboard.__version__, "bundle": bundle}
    refs = load_refs(refs_dir)
    if sorted(refs) != sorted(n for _, n in PATTERN):
        fail(f"{refs_dir} lacks references of the pattern's notes (has {sorted(refs)})", **summary)
    duration = PATTERN[-1][0] + TAIL_S

    t0 = time.monotonic()
    a = pedalboard.load_plugin(bundle)
    summary["name"] = a.name
    summary["load_s"] = round(time.monotonic() - t0, 3)
    if not a.is_instrument:
        fail("pedalboard does not see the plugin as an instrument", **summary)
    summary["parameter_names"] = len(a.parameters)

    # 1. A fresh instance: the pattern, first note at t = 0.
    t1 = time.monotonic()
    audio = render(a, duration)
    summary["render_s"] = round(time.monotonic() - t1, 3)
    summary["shape"] = list(audio.shape)
    write(os.path.join(out_dir, "vst3-pedalboard-pattern.wav"), audio)
    if audio.shape[0] != 2:
        fail(f"expected 2 output channels, got {audio.shape[0]}", **summary)
    if not np.all(np.isfinite(audio)):
        fail("non-finite samples", **summary)
    peak = float(np.max(np.abs(audio)))
    if peak == 0.0:
        summary["peak"] = peak
        fail("the fresh instance rendered pure silence (peak 0) for the whole pattern", **summary)
    check_pattern(audio, refs, summary)

    # 2. raw_state into a new instance: the same pattern, bit-identical.
    state = a.raw_state
    summary["raw_state_bytes"] = len(state)
    b = pedalboard.load_plugin(bundle)
    b.raw_state = state
    recalled = render(b, duration)
    write(os.path.join(out_dir, "vst3-pedalboard-recall.wav"), recalled)
    if recalled.shape != audio.shape:
        fail(f"recalled render has shape {recalled.shape}, original {audio.shape}", **summary)
    differing = np.flatnonzero(recalled.view(np.uint32) != audio.view(np.uint32))
    summary["recall_differing_samples"] = int(differing.size)
    summary["recall_max_abs_diff"] = float(np.max(np.abs(recalled - audio)))
    if differing.size:
        i = int(differing[0])
        ch, s = divmod(i, audio.shape[1])
        fail(f"the instance restored from raw_state renders differently: {differing.size} "
             f"samples differ, first on channel {ch} at sample {s} ({s / RATE:.4f} s)", **summary)

    summary["ok"] = True
    summary["total_s"] = round(time.monotonic() - t0, 3)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
