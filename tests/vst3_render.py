#!/usr/bin/env python3
"""Render a short MIDI clip through the bundled Neural Drum Machine VST3 with Spotify's pedalboard.

Usage: vst3_render.py BUNDLE.vst3 OUT.wav

Checks that the instrument (1) loads in pedalboard as an instrument, (2) sounds once its worker
has generated a sound, (3) scales its output with note velocity, (4) writes finite, bounded audio, (5) regenerates its
sound when a parameter (pad X) is changed through the VST3 interface.
Writes the clip to OUT.wav and prints a JSON summary on the last line. Exits non-zero on failure.

The plugin generates its sound asynchronously after activation: the first render(s) may be silent
(and pedalboard then waits ~10 s for a tail), so it renders a probe note until one is audible.
"""

import json
import sys
import time

import mido
import numpy as np
import pedalboard
from pedalboard.io import AudioFile

RATE = 48000.0
BLOCK = 512
SILENCE = 1e-6


def fail(msg, **summary):
    summary["ok"] = False
    summary["error"] = msg
    print(json.dumps(summary))
    sys.exit(1)


def note_on(t, velocity, key=60):
    return mido.Message("note_on", note=key, velocity=velocity, time=t)


def note_off(t, key=60):
    return mido.Message("note_off", note=key, velocity=0, time=t)


def render(plugin, messages, duration, reset):
    audio = plugin(messages, duration=duration, sample_rate=RATE, num_channels=2,
                   buffer_size=BLOCK, reset=reset)
    return np.asarray(audio, dtype=np.float32)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    bundle, out_path = sys.argv[1], sys.argv[2]
    summary = {"pedalboard": pedalboard.__version__, "bundle": bundle}

    t0 = time.monotonic()
    plugin = pedalboard.load_plugin(bundle)
    summary["name"] = plugin.name
    summary["load_s"] = round(time.monotonic() - t0, 3)
    if not plugin.is_instrument:
        fail("pedalboard does not see the plugin as an instrument", **summary)
    summary["parameters"] = sorted(plugin.parameters.keys())

    # Wait for the first sound: probe notes until one is audible.
    probe = [note_on(0.0, 127), note_off(0.5)]
    first = None
    probes = 0
    while time.monotonic() - t0 < 60.0:
        audio = render(plugin, probe, 1.5, reset=(probes == 0))
        probes += 1
        if not np.all(np.isfinite(audio)):
            fail("non-finite samples in a probe render", **summary)
        if np.max(np.abs(audio)) > SILENCE:
            first = audio
            break
        time.sleep(0.2)
    summary["probes"] = probes
    summary["ready_s"] = round(time.monotonic() - t0, 3)
    if first is None:
        fail("every probe note was silent for 60 s", **summary)

    # The clip: three notes one second apart, loud → soft, on different keys.
    spacing = 1.0
    velocities = [127, 64, 24]
    clip = []
    for i, (vel, key) in enumerate(zip(velocities, [36, 38, 60])):
        clip.append(note_on(0.25 + i * spacing, vel, key))
        clip.append(note_off(0.25 + i * spacing + 0.5, key))
    duration = 0.25 + len(velocities) * spacing + 0.5
    audio = render(plugin, clip, duration, reset=False)
    summary["shape"] = list(audio.shape)

    with AudioFile(out_path, "w", samplerate=RATE, num_channels=audio.shape[0]) as f:
        f.write(audio)
    summary["wav"] = out_path

    if not np.all(np.isfinite(audio)):
        fail("non-finite samples", **summary)
    peak_all = float(np.max(np.abs(audio)))
    summary["peak"] = peak_all
    if peak_all > 4.0:
        fail(f"peak {peak_all} > 4", **summary)
    if audio.shape[0] != 2:
        fail(f"expected 2 output channels, got {audio.shape[0]}", **summary)
    if float(np.max(np.abs(audio[0] - audio[1]))) > 1e-6:
        fail("left and right channels differ (the plugin outputs mono on both)", **summary)

    peaks, rmss = [], []
    for i in range(len(velocities)):
        a = int((0.25 + i * spacing) * RATE)
        b = int((0.25 + (i + 1) * spacing) * RATE)
        seg = audio[0, a:b]
        peaks.append(float(np.max(np.abs(seg))))
        rmss.append(float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))))
    summary["velocities"] = velocities
    summary["segment_peaks"] = peaks
    summary["segment_rms"] = rmss
    # (Not checked: the probe note's tail may still ring into the clip's lead-in.)
    summary["lead_in_peak"] = float(np.max(np.abs(audio[0, : int(0.2 * RATE)])))

    if any(p <= SILENCE for p in peaks):
        fail("a note of the clip is silent", **summary)
    for i in range(1, len(peaks)):
        if not peaks[i] < peaks[i - 1] * 0.95:
            fail(f"velocity {velocities[i]} is not quieter than velocity {velocities[i - 1]}",
                 **summary)

    # A parameter change over VST3 (pad X, via pedalboard) regenerates the sound: probe notes
    # (the old sound until the worker is done) until one differs from the first probe.
    base = first[0, : int(0.5 * RATE)]
    try:
        summary["pad_x_before"] = str(plugin.pad_x)
        plugin.pad_x = 0.9 if float(plugin.pad_x.raw_value) < 0.75 else -0.9
        summary["pad_x_after"] = str(plugin.pad_x)
    except Exception as e:  # noqa: BLE001 - report any pedalboard parameter error
        fail(f"cannot set pad_x through pedalboard: {e!r}", **summary)
    changed = None
    t1 = time.monotonic()
    while time.monotonic() - t1 < 20.0:
        audio_x = render(plugin, probe, 1.5, reset=False)
        seg = audio_x[0, : int(0.5 * RATE)]
        if np.max(np.abs(seg)) > SILENCE:
            diff = float(np.sqrt(np.mean((seg - base) ** 2)) / max(np.sqrt(np.mean(base**2)), 1e-9))
            if diff > 0.1:
                changed = diff
                break
        time.sleep(0.1)
    summary["pad_x_change_s"] = round(time.monotonic() - t1, 3)
    if changed is None:
        fail("changing pad_x did not change the sound within 20 s", **summary)
    summary["pad_x_rel_diff"] = changed

    summary["ok"] = True
    summary["total_s"] = round(time.monotonic() - t0, 3)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
