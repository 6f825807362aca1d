#!/usr/bin/env python3
"""Phase-gradient heap integration (PGHI): phase from an STFT magnitude, without iterations.

Průša, Balazs & Søndergaard, "A noniterative method for reconstruction of phase from STFT
magnitude", IEEE/ACM TASLP 25(5), 2017, §III–IV (Algorithm 1). For a Gaussian window
g(t) = exp(-π t² / λ) the STFT phase φ and log-magnitude s = log|V| obey (time-invariant phase
convention, t in samples, ω in cycles per sample):

    ∂φ/∂t = (1/λ) ∂s/∂ω + 2πω          ∂φ/∂ω = -λ ∂s/∂t

A Hann window of length L is treated as the Gaussian with λ = 0.25645 · L² (the paper's Table I).
The two derivatives of ``s`` are centred differences; the phase is integrated from the largest
coefficient outwards (a max-heap on the magnitude, trapezoidal steps between neighbours), so it
follows the ridges of the spectrogram first. Coefficients more than ``tol_db`` below the maximum
get a random phase.

This module is the reference the Rust core's port is checked against, and what
``measure_inverter.py`` measures; the phase convention at the end is ``torch.stft``'s
(``center=True``: frame m is centred on sample m·hop, the FFT index starts at the frame's start).
"""
from __future__ import annotations

import heapq

import numpy as np

HANN_LAMBDA = 0.25645


def pghi_phase(logmag: np.ndarray, n_fft: int, hop: int, tol_db: float = 100.0,
               seed: int = 0) -> np.ndarray:
    """Phase [frames, bins] (radians, ``torch.stft`` convention) for the natural-log magnitude
    ``logmag`` [frames, n_fft/2+1] of a Hann-windowed STFT with ``n_fft`` and ``hop``."""
    s = np.asarray(logmag, dtype=np.float64)
    n_frames, n_bins = s.shape
    lam = HANN_LAMBDA * n_fft * n_fft
    k = np.arange(n_bins, dtype=np.float64)
    # ∂s/∂ω with ω in cycles/sample: bins are 1/n_fft apart
    ds_dw = np.zeros_like(s)
    ds_dw[:, 1:-1] = (s[:, 2:] - s[:, :-2]) * (n_fft / 2.0)
    # ∂s/∂t with t in samples: frames are hop apart
    ds_dt = np.zeros_like(s)
    ds_dt[1:-1] = (s[2:] - s[:-2]) / (2.0 * hop)
    if n_frames > 1:
        ds_dt[0] = (s[1] - s[0]) / hop
        ds_dt[-1] = (s[-1] - s[-2]) / hop
    dphi_dt = ds_dw / lam + 2.0 * np.pi * k / n_fft  # radians per sample
    dphi_dw = -lam * ds_dt  # radians per (cycle/sample)
    step_t = 0.5 * hop  # trapezoid: phase(m+1) = phase(m) + hop * mean of the two derivatives
    step_w = 0.5 / n_fft

    floor = s.max() - tol_db / 20.0 * np.log(10.0)
    rng = np.random.default_rng(seed)
    phase = rng.uniform(-np.pi, np.pi, size=s.shape)
    todo = s > floor
    flat_s = s.ravel()
    # max-heap of (−s, index); seeds are taken in decreasing magnitude
    order = np.argsort(-flat_s, kind="stable")
    order = order[todo.ravel()[order]]
    todo_flat = todo.ravel()
    ph = phase.ravel()
    dt_f, dw_f = dphi_dt.ravel(), dphi_dw.ravel()
    heap: list[tuple[float, int]] = []
    for seed_idx in order:
        if not todo_flat[seed_idx]:
            continue
        todo_flat[seed_idx] = False
        ph[seed_idx] = 0.0
        heapq.heappush(heap, (-flat_s[seed_idx], int(seed_idx)))
        while heap:
            _, i = heapq.heappop(heap)
            m, b = divmod(i, n_bins)
            if m + 1 < n_frames:
                j = i + n_bins
                if todo_flat[j]:
                    ph[j] = ph[i] + step_t * (dt_f[i] + dt_f[j]); todo_flat[j] = False
                    heapq.heappush(heap, (-flat_s[j], j))
            if m > 0:
                j = i - n_bins
                if todo_flat[j]:
                    ph[j] = ph[i] - step_t * (dt_f[i] + dt_f[j]); todo_flat[j] = False
                    heapq.heappush(heap, (-flat_s[j], j))
            if b + 1 < n_bins:
                j = i + 1
                if todo_flat[j]:
                    ph[j] = ph[i] + step_w * (dw_f[i] + dw_f[j]); todo_flat[j] = False
                    heapq.heappush(heap, (-flat_s[j], j))
            if b > 0:
                j = i - 1
                if todo_flat[j]:
                    ph[j] = ph[i] - step_w * (dw_f[i] + dw_f[j]); todo_flat[j] = False
                    heapq.heappush(heap, (-flat_s[j], j))
    phase = ph.reshape(n_frames, n_bins)
    # time-invariant phase is referenced to the window's centre; torch.stft's FFT index starts
    # n_fft/2 samples earlier: a factor e^{-iπk}
    return phase - np.pi * k[None, :]
