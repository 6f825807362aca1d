"""Audio decoding and one-shot preparation helpers (no torch dependency).

Used by build_dataset.py and by the tests.
"""
from __future__ import annotations

import io
import struct
from fractions import Fraction
from math import gcd

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SAMPLE_RATE = 22050
HOP = 256
N_FRAMES = 86
N_SAMPLES = N_FRAMES * HOP  # 22016

# Audio contracts (model.json schema_version). v1: the shipped 22 050 Hz model, ~1 s with a
# 250 ms forced fade. v2: 44 100 Hz, 344 frames of 256 samples (88 064 samples, 1.997 s), the
# natural decay kept and only a 50 ms end fade when the sound is longer than the window (see
# README "Audio contract v2" for the measurements behind the numbers).
CONTRACTS = {
    1: dict(sample_rate=22050, hop=256, n_frames=86, fade_s=0.25),
    2: dict(sample_rate=44100, hop=256, n_frames=344, fade_s=0.05),
}


def contract_n_samples(version: int) -> int:
    c = CONTRACTS[version]
    return c["n_frames"] * c["hop"]

# ---------------------------------------------------------------- decoding


def _riff_chunks(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        cid = data[pos:pos + 4]
        size = struct.unpack('<I', data[pos + 4:pos + 8])[0]
        yield cid, pos + 8, size
        pos += 8 + size + (size & 1)


def _wav_wrapped_ogg(data: bytes):
    """Some LMMS '.ogg' files are RIFF/WAVE containers whose data chunk holds an
    Ogg Vorbis stream (format tag 0x674f etc.). Return the embedded Ogg bytes or None."""
    if data[:4] != b'RIFF' or data[8:12] != b'WAVE':
        return None
    idx = data.find(b'OggS')
    if idx < 0:
        return None
    return data[idx:]


def read_audio(path: str) -> tuple[np.ndarray, int]:
    """Decode wav/flac/aiff/ogg (also WAV-wrapped Ogg) -> float32 array [n, ch], sr."""
    with open(path, 'rb') as f:
        data = f.read()
    try:
        x, sr = sf.read(io.BytesIO(data), dtype='float32', always_2d=True)
        return x, sr
    except Exception:
        ogg = _wav_wrapped_ogg(data)
        if ogg is None:
            raise
        x, sr = sf.read(io.BytesIO(ogg), dtype='float32', always_2d=True)
        return x, sr


class SF2:
    """Minimal SoundFont 2 reader: the 16-bit sample pool and the sample headers."""

    def __init__(self, path: str):
        with open(path, 'rb') as f:
            data = f.read()
        if data[:4] != b'RIFF' or data[8:12] != b'sfbk':
            raise ValueError(f'{path}: not a SoundFont 2 file')
        self.smpl = None
        self.headers = []
        for cid, off, size in _riff_chunks(data, 12, len(data)):
            if cid != b'LIST':
                continue
            ltype = data[off:off + 4]
            for sid, soff, ssize in _riff_chunks(data, off + 4, off + size):
                if ltype == b'sdta' and sid == b'smpl':
                    self.smpl = np.frombuffer(data, dtype='<i2', count=ssize // 2, offset=soff)
                elif ltype == b'pdta' and sid == b'shdr':
                    for i in range(ssize // 46):
                        rec = data[soff + 46 * i: soff + 46 * (i + 1)]
                        name = rec[:20].split(b'\0')[0].decode('latin-1')
                        start, end, sl, el, rate = struct.unpack('<5I', rec[20:40])
                        pitch, corr, link, stype = struct.unpack('<BbHH', rec[40:46])
                        self.headers.append(dict(name=name, start=start, end=end, rate=rate,
                                                 link=link, type=stype))
        if self.smpl is None:
            raise ValueError(f'{path}: no smpl chunk')
        if self.headers and self.headers[-1]['name'] == 'EOS':
            self.headers = self.headers[:-1]

    def sample(self, index: int) -> tuple[np.ndarray, int]:
        h = self.headers[index]
        x = self.smpl[h['start']:h['end']].astype(np.float32) / 32768.0
        return x, h['rate']

    def stereo_partner(self, index: int):
        """Pair L/R by name (the sampleLink fields are unreliable): a partner has the same
        name except for a trailing/embedded L<->R marker. Returns the partner index or None."""
        name = self.headers[index]['name']
        cands = []
        for a, b in (('L', 'R'), ('R', 'L'), ('l', 'r'), ('r', 'l')):
            for pos in range(len(name)):
                if name[pos] == a and (pos == len(name) - 1 or not name[pos + 1].isalpha()) and \
                        (pos == 0 or not name[pos - 1].isalpha() or pos == len(name) - 1):
                    cands.append(name[:pos] + b + name[pos + 1:])
        for j, h in enumerate(self.headers):
            if j != index and h['name'] in cands and \
                    h['end'] - h['start'] == self.headers[index]['end'] - self.headers[index]['start']:
                return j
        return None


# ---------------------------------------------------------------- preparation


def to_mono(x: np.ndarray) -> np.ndarray:
    if x.ndim == 1:
        return x.astype(np.float32)
    return x.mean(axis=1).astype(np.float32)


def resample(x: np.ndarray, sr_in: int, sr_out: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling (scipy ``resample_poly``, Kaiser-windowed FIR) by the exact ratio."""
    if sr_in == sr_out:
        return x.astype(np.float32)
    fr = Fraction(sr_out, sr_in)
    return resample_poly(x.astype(np.float64), fr.numerator, fr.denominator).astype(np.float32)


def find_onset(x: np.ndarray, sr: int = SAMPLE_RATE, rel_threshold: float = 0.05,
               preroll_s: float = 0.002) -> int:
    """First sample whose magnitude exceeds rel_threshold * peak, minus a short pre-roll."""
    a = np.abs(x)
    peak = float(a.max()) if a.size else 0.0
    if peak <= 0.0:
        return 0
    idx = int(np.argmax(a >= rel_threshold * peak))
    return max(0, idx - int(round(preroll_s * sr)))


def fade_out_window(n: int, fade_len: int) -> np.ndarray:
    w = np.ones(n, dtype=np.float32)
    fade_len = min(fade_len, n)
    if fade_len > 0:
        t = np.linspace(0.0, 1.0, fade_len, endpoint=True, dtype=np.float64)
        w[n - fade_len:] = (0.5 * (1.0 + np.cos(np.pi * t))).astype(np.float32)
    return w


def prepare_oneshot(x: np.ndarray, sr: int, n_samples: int = N_SAMPLES,
                    fade_s: float = 0.25, out_sr: int = SAMPLE_RATE) -> tuple[np.ndarray, dict]:
    """mono -> resample -> onset align -> trim/pad to n_samples with a raised-cosine fade-out
    over the last fade_s seconds when the sound is longer than the window (and a short 5 ms
    one otherwise, to kill any click). Peak kept (clipped to <= 0.99 by scaling)."""
    x = to_mono(x)
    x = resample(x, sr, out_sr)
    on = find_onset(x, out_sr)
    x = x[on:]
    orig_len = len(x)
    if orig_len >= n_samples:
        y = x[:n_samples].copy()
        y *= fade_out_window(n_samples, int(fade_s * out_sr))
        truncated = True
    else:
        y = np.zeros(n_samples, dtype=np.float32)
        y[:orig_len] = x
        y[:orig_len] *= fade_out_window(orig_len, min(int(0.005 * out_sr), orig_len // 4))
        truncated = False
    peak = float(np.abs(y).max())
    if peak > 0.99:
        y *= 0.99 / peak
    return y.astype(np.float32), dict(onset=on, length=orig_len, truncated=truncated, peak=peak)
