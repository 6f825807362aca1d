"""Data set loading, augmentation and class-balanced sampling (torch)."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from model import CLASSES


class DrumData:
    """Holds the cached waveforms (cache/dataset.npz written by build_dataset.py, or a user
    library's dataset.npz written by train_library.py). ``classes``: the class names in label
    order, from the file's ``classes`` array when it has one (user libraries), else the shipped
    ``model.CLASSES``; ``n_classes`` = their count."""

    def __init__(self, path: str, gain_copy_weight: float = 0.5):
        d = np.load(path)
        self.classes = [str(c) for c in d["classes"]] if "classes" in d else list(CLASSES)
        self.wav = torch.from_numpy(d["wav"].astype(np.float32))
        self.label = torch.from_numpy(d["label"].astype(np.int64))
        self.is_val = torch.from_numpy(d["is_val"].astype(bool))
        self.is_gain_copy = torch.from_numpy(d["is_gain_copy"].astype(bool))
        self.row = d["row"]
        self.sample_rate = int(d["sample_rate"]) if "sample_rate" in d else 22050
        # source sample rate of each item (data sets built before contract v2 lack it: then
        # every item counts as full-band). Items below the contract rate carry nothing above
        # sr_in / 2; train.py masks that band out of the WAE's reconstruction loss.
        self.sr_in = torch.from_numpy(d["sr_in"].astype(np.int64)) if "sr_in" in d else \
            torch.full((len(self.label),), self.sample_rate, dtype=torch.int64)
        self.low_rate = self.sr_in < self.sample_rate
        self.n_classes = len(self.classes)
        self.train_idx = torch.nonzero(~self.is_val).flatten()
        self.val_idx = torch.nonzero(self.is_val).flatten()
        # real recordings only (no gain copies) for statistics / classifier / PCA
        self.train_real_idx = torch.nonzero(~self.is_val & ~self.is_gain_copy).flatten()
        # class-balanced sampling weights over the train split: every class equally likely,
        # inside a class every recording equally likely, gain copies down-weighted.
        w = torch.zeros(len(self.label))
        for c in range(self.n_classes):
            m = (~self.is_val) & (self.label == c)
            wc = torch.where(self.is_gain_copy[m], gain_copy_weight, 1.0)
            if wc.sum() > 0:
                w[m] = wc / wc.sum()
        self.weights = w
        # per-class rows of the weights [n_classes, N] and the classes that have training items
        # (for class-stratified batches)
        self.class_weights = torch.stack([torch.where(self.label == c, w, torch.zeros_like(w))
                                          for c in range(self.n_classes)])
        self.classes_present = torch.nonzero(self.class_weights.sum(1) > 0).flatten()

    def sample_indices(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.multinomial(self.weights, n, replacement=True, generator=gen)

    def sample_stratified(self, n_classes: int, per_class: int, gen: torch.Generator) -> torch.Tensor:
        """Class-stratified batch for the per-class MMD: `n_classes` distinct classes drawn
        uniformly among those with items, then `per_class` items of each (class-internal weights as in
        `sample_indices`). Returns [n_classes * per_class] indices, grouped by class."""
        cand = self.classes_present
        classes = cand[torch.randperm(len(cand), generator=gen)[:n_classes]]
        return torch.cat([torch.multinomial(self.class_weights[c], per_class, replacement=True, generator=gen)
                          for c in classes.tolist()])


def peak_normalise(x: torch.Tensor, peak: float = 0.9) -> torch.Tensor:
    return x * (peak / x.abs().amax(dim=-1, keepdim=True).clamp_min(1e-6))


def augment(x: torch.Tensor, gen: torch.Generator, p_pitch: float = 0.5, p_shift: float = 0.5,
            p_filter: float = 0.5, max_semitones: float = 1.0, max_shift_s: float = 0.005,
            gain_db=(-10.0, 0.0), sr: int = 22050, p_lowpass: float = 0.5) -> torch.Tensor:
    """x: [B,N] waveforms (onset-aligned). Returns augmented [B,N]:
    pitch shift by resampling (+-max_semitones; changes length, so also the decay),
    small delay of the onset (0..max_shift_s), gentle spectral tilt / low-pass filtering
    (a filtered item is low-passed with probability p_lowpass, else tilted; the low-pass corner
    is 0.25..1 of the Nyquist frequency), peak normalisation then random gain.
    Contract v2 trains its WAE with p_lowpass 0 so no dulled cymbal is a training target."""
    B, N = x.shape
    out = x.clone()
    u = lambda *s: torch.rand(*s, generator=gen)  # noqa: E731
    for b in range(B):
        y = out[b]
        if u(1).item() < p_pitch:
            semis = (u(1).item() * 2 - 1) * max_semitones
            r = 2.0 ** (semis / 12.0)  # >1: higher pitch -> shorter
            n_new = max(16, int(round(N / r)))
            y = F.interpolate(y.view(1, 1, N), size=n_new, mode="linear", align_corners=False).view(-1)
            if n_new >= N:
                y = y[:N]
            else:
                y = F.pad(y, (0, N - n_new))
        if u(1).item() < p_shift:
            k = int(u(1).item() * max_shift_s * sr)
            if k > 0:
                y = F.pad(y[: N - k], (k, 0))
        out[b] = y
    if p_filter > 0:
        X = torch.fft.rfft(out, dim=-1)
        f = torch.linspace(0, 1, X.shape[-1]).clamp_min(1e-3)
        sel = (u(B) < p_filter).float().unsqueeze(-1)
        tilt = (u(B) * 2 - 1).unsqueeze(-1) * 3.0                 # +-3 dB per octave
        g_tilt = torch.pow(f / 0.1, tilt / 6.02).clamp(0.25, 4.0)  # pivot at ~1.1 kHz
        fc = 0.25 + 0.75 * u(B).unsqueeze(-1)                     # low-pass 2.7..11 kHz
        g_lp = 1.0 / torch.sqrt(1.0 + (f / fc) ** 4)
        use_lp = (u(B) < p_lowpass).float().unsqueeze(-1)
        g = use_lp * g_lp + (1 - use_lp) * g_tilt
        g = sel * g + (1 - sel)
        out = torch.fft.irfft(X * g, n=N, dim=-1)
    out = peak_normalise(out)
    db = gain_db[0] + (gain_db[1] - gain_db[0]) * u(B, 1)
    return out * (10.0 ** (db / 20.0))


def one_hot(labels: torch.Tensor, n: int = len(CLASSES)) -> torch.Tensor:
    """labels [B] (int64) -> one-hot class weights [B, n] (float32, on the labels' device)."""
    return F.one_hot(labels, n).float()
