"""Dataset builder on tiny synthetic files (no packages needed)."""
import csv
import io
import os
import struct

import numpy as np
import pytest
import soundfile as sf

from audio_io import (N_SAMPLES, SAMPLE_RATE, SF2, find_onset, prepare_oneshot, read_audio,
                      resample)
import build_dataset


def tone(sr, dur, f=1000.0, lead=0.1, decay=0.3, amp=0.8):
    n = int(sr * dur)
    t = np.arange(n) / sr
    x = amp * np.sin(2 * np.pi * f * t) * np.exp(-t / decay)
    return np.concatenate([np.zeros(int(lead * sr)), x]).astype(np.float32)


def test_length_onset_and_fade_long_sound():
    x = tone(44100, 3.0, decay=2.0)  # longer than the window: must fade, not cut
    y, info = prepare_oneshot(x, 44100)
    assert y.shape == (N_SAMPLES,) and y.dtype == np.float32
    assert info["truncated"]
    # onset aligned: the first loud sample is within the 2 ms pre-roll
    first = int(np.argmax(np.abs(y) > 0.05 * np.abs(y).max()))
    assert first <= int(0.003 * SAMPLE_RATE)
    # fade-out: the tail goes smoothly to zero
    assert abs(y[-1]) < 1e-4
    assert np.abs(y[-200:]).max() < 0.05 * np.abs(y).max()
    env = np.abs(y[-int(0.25 * SAMPLE_RATE):])
    assert env[: len(env) // 4].max() > env[-len(env) // 4:].max()


def test_short_sound_is_padded_with_zeros():
    x = tone(48000, 0.2, decay=0.05, lead=0.05)
    y, info = prepare_oneshot(x, 48000)
    assert y.shape == (N_SAMPLES,)
    assert not info["truncated"]
    assert np.all(y[int(0.25 * SAMPLE_RATE):] == 0)


def test_stereo_to_mono_and_resampling_keeps_pitch():
    x = tone(48000, 1.0, f=1000.0, decay=5.0, lead=0.0)
    st = np.stack([x, x], axis=1)
    y, _ = prepare_oneshot(st, 48000)
    spec = np.abs(np.fft.rfft(y[:16384]))
    f_peak = np.argmax(spec) * SAMPLE_RATE / 16384
    assert abs(f_peak - 1000.0) < 5.0
    r = resample(np.ones(44100, np.float32), 44100)
    assert len(r) == 22050


def test_find_onset_silence():
    assert find_onset(np.zeros(100, np.float32)) == 0


def test_read_formats(tmp_path):
    x = tone(44100, 0.3)
    for ext, fmt, sub in [("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_16"),
                          ("aiff", "AIFF", "PCM_16"), ("ogg", "OGG", "VORBIS")]:
        p = tmp_path / f"a.{ext}"
        sf.write(p, x, 44100, format=fmt, subtype=sub)
        y, sr = read_audio(str(p))
        assert sr == 44100 and y.shape[1] == 1 and abs(len(y) - len(x)) < 2048


def test_wav_wrapped_ogg(tmp_path):
    x = tone(22050, 0.3)
    buf = io.BytesIO()
    sf.write(buf, x, 22050, format="OGG", subtype="VORBIS")
    ogg = buf.getvalue()
    fmt = struct.pack("<HHIIHH", 0x674F, 1, 22050, 22050 * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(ogg)) + ogg
    p = tmp_path / "wrapped.ogg"
    p.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    y, sr = read_audio(str(p))
    assert sr == 22050 and len(y) > 1000


def write_sf2(path, samples, sr=44100):
    """Minimal SF2: smpl chunk + shdr records (names, start, end, rate)."""
    pool = b""
    recs = b""
    pos = 0
    for name, x in samples:
        pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes() + b"\0" * 92  # 46 zero samples
        recs += name.encode().ljust(20, b"\0") + struct.pack("<5I", pos, pos + len(x), pos, pos + len(x), sr)
        recs += struct.pack("<BbHH", 60, 0, 0, 1)
        pos += len(x) + 46
        pool += pcm
    recs += b"EOS".ljust(20, b"\0") + b"\0" * 26

    def chunk(cid, data):
        return cid + struct.pack("<I", len(data)) + data + (b"\0" if len(data) & 1 else b"")

    sdta = chunk(b"LIST", b"sdta" + chunk(b"smpl", pool))
    pdta = chunk(b"LIST", b"pdta" + chunk(b"shdr", recs))
    info = chunk(b"LIST", b"INFO" + chunk(b"ifil", struct.pack("<HH", 2, 1)))
    body = b"sfbk" + info + sdta + pdta
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


def test_sf2_reader_and_lr_pairing(tmp_path):
    a = tone(44100, 0.2, lead=0.0)
    b = -a
    p = str(tmp_path / "k.sf2")
    write_sf2(p, [("Kick-1", a), ("Snare L", a), ("Snare R", b)])
    s = SF2(p)
    assert [h["name"] for h in s.headers] == ["Kick-1", "Snare L", "Snare R"]
    x, sr = s.sample(0)
    assert sr == 44100 and np.allclose(x, a, atol=1e-4)
    assert s.stereo_partner(0) is None
    assert s.stereo_partner(1) == 2 and s.stereo_partner(2) == 1


def test_build_tiny_dataset(tmp_path):
    files = []
    for i, cls in enumerate(["kick", "snare", "crash"]):
        p = tmp_path / f"{cls}.wav"
        sf.write(p, tone(44100, 0.5 + i, f=100 * (i + 1)), 44100)
        files.append((str(p), cls))
    sf2p = str(tmp_path / "kit.sf2")
    write_sf2(sf2p, [("36-Kick-1", tone(44100, 0.3, lead=0.0))])
    labels = tmp_path / "labels.csv"
    cols = ["package", "registry", "version", "path", "sample", "kit", "instrument", "midi_note", "use",
            "drum_class", "subclass", "label_from", "layer", "n_layers", "velocity_range",
            "recording_group", "duplicate_of", "license", "author"]
    with open(labels, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for i, (p, cls) in enumerate(files):
            w.writerow(dict(package="hydrogen-drumkits", registry="debian", path=p, use="train",
                            drum_class=cls, recording_group=str(i), kit="K", author="X"))
        w.writerow(dict(package="hydrogen-drumkits", registry="debian", path=files[0][0], use="gain_copy",
                        drum_class="kick", recording_group="0", kit="K", author="X"))
        w.writerow(dict(package="hydrogen-drumkits", registry="debian", path=files[1][0], use="suspect_label",
                        drum_class="snare", recording_group="9", kit="K", author="X"))
        w.writerow(dict(package="avldrums.lv2-soundfont", registry="debian", path=sf2p + "#sample0",
                        sample="36-Kick-1", use="train", drum_class="kick", recording_group="7",
                        kit="BlackPearl4", author="Glen MacArthur"))
    out = str(tmp_path / "ds.npz")
    man = str(tmp_path / "man.csv")
    s = build_dataset.build(str(labels), str(tmp_path), out, man)
    assert s["n"] == 5 and s["failures"] == 0  # suspect_label row skipped
    d = np.load(out)
    assert d["wav"].shape == (5, N_SAMPLES)
    assert d["is_gain_copy"].sum() == 1
    rows = list(csv.DictReader(open(man)))
    assert rows[-1]["split"] == "train"  # Glen MacArthur kit always on the training side
    # deterministic
    s2 = build_dataset.build(str(labels), str(tmp_path), out, man)
    assert s2["sha1"] == s["sha1"]


def test_split_is_by_group_and_deterministic():
    assert build_dataset.split_of("123", False) == build_dataset.split_of("123", False)
    assert build_dataset.split_of("123", True) == "train"
    vals = [build_dataset.split_of(str(g), False) for g in range(2000)]
    frac = vals.count("val") / len(vals)
    assert 0.08 < frac < 0.22
