#!/usr/bin/env python3
"""Phase-reconstruction ablation on the validation split: which phase beats Griffin-Lim-32?

    OMP_NUM_THREADS=1 python measure_phase.py [--inverter runs/fullband-v2/mcnn.pt] \
        [--data cache/v2/dataset.npz] [--out reports/phase_v2.json]

On the real validation sounds (held apart by recording group, peak 0.5) of the contract's data
set, every row starts from the SAME normalised log-Mel of the sound and is scored against the
real sound (spectral convergence at STFT 1024/256 and MR-STFT, as ``measure_contract.py``):

- ``gl32``: Griffin-Lim, 32 fast iterations from the mel pseudo-inverse (the baseline);
- ``net``: the spectral inverter alone (its magnitude and its integrated phase);
- ``pghi_pinv``: the mel pseudo-inverse magnitude, PGHI phase (``pghi.py``);
- ``pghi_net``: the inverter's magnitude, PGHI phase;
- ``pghi_net+glK``: that, then K fast Griffin-Lim iterations started from the PGHI phase;
- references that need the real sound (not inverters): ``pghi_true`` (PGHI on the true STFT
  magnitude) and ``bound`` (the pseudo-inverse magnitude with the true phase).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from evaluate import GriffinLim  # noqa: E402
from model import MCNN, AudioConfig, MelFrontEnd, ModelConfig, mr_stft, spectral_convergence  # noqa: E402
from pghi import pghi_phase  # noqa: E402


def fgla(mag: torch.Tensor, angles: torch.Tensor, a, window, n_iter: int,
         momentum: float = 0.99) -> torch.Tensor:
    """Fast Griffin-Lim (Perraudin et al. 2013) from given phases; mag/angles [1, bins, F]."""
    tprev = torch.zeros_like(angles)
    for _ in range(n_iter):
        y = torch.istft(mag * angles, a.n_fft, a.hop, a.n_fft, window, center=True, length=a.n_samples)
        rebuilt = torch.stft(y, a.n_fft, a.hop, a.n_fft, window, center=True, pad_mode="reflect",
                             return_complex=True)
        angles = rebuilt - (momentum / (1 + momentum)) * tprev
        tprev = rebuilt
        angles = angles / (angles.abs() + 1e-16)
    return torch.istft(mag * angles, a.n_fft, a.hop, a.n_fft, window, center=True, length=a.n_samples)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(HERE, "cache", "v2", "dataset.npz"))
    ap.add_argument("--inverter", default=os.path.join(HERE, "runs", "fullband-v2", "mcnn.pt"))
    ap.add_argument("--out", default=os.path.join(HERE, "reports", "phase_v2.json"))
    ap.add_argument("--max-sounds", type=int, default=0)
    ap.add_argument("--tol-db", type=float, default=100.0)
    ap.add_argument("--gl-after", default="1,2,4")
    a_ = ap.parse_args()
    torch.set_num_threads(1)
    d = dict(np.load(a_.data))
    sel = np.nonzero(d["is_val"] & ~d["is_gain_copy"])[0]
    if a_.max_sounds:
        sel = sel[: a_.max_sounds]
    wav = torch.from_numpy(d["wav"][sel])
    wav = wav * (0.5 / wav.abs().amax(1, keepdim=True).clamp_min(1e-6))
    st = torch.load(a_.inverter, map_location="cpu", weights_only=False)
    a, m = AudioConfig(**st["a"]), ModelConfig(**st["m"])
    net = MCNN(a, m).eval()
    net.load_state_dict(st["net"])
    head = net.spec
    fe = MelFrontEnd(a)
    gl = GriffinLim(a, fe)
    win = torch.hann_window(a.n_fft)
    ks = [int(v) for v in a_.gl_after.split(",") if v]
    rows: dict[str, list[torch.Tensor]] = {}
    times: dict[str, list[float]] = {}

    def add(name, y, t=None):
        rows.setdefault(name, []).append(y.reshape(1, -1).float())
        if t is not None:
            times.setdefault(name, []).append(t)

    def synth(logmag_tb: np.ndarray, phase_tb: np.ndarray) -> torch.Tensor:
        spec = torch.from_numpy(np.exp(logmag_tb) * np.exp(1j * phase_tb)).T.unsqueeze(0)
        return torch.istft(spec.to(torch.complex64), a.n_fft, a.hop, a.n_fft, win, center=True,
                           length=a.n_samples)

    with torch.no_grad():
        mel = fe(wav)
        for i in range(len(wav)):
            x = wav[i:i + 1]
            mi = mel[i:i + 1]
            t0 = time.perf_counter(); add("gl32", gl(mi, 32), time.perf_counter() - t0)
            t0 = time.perf_counter(); add("net", net(mi), time.perf_counter() - t0)
            logmag_net, _ = head.spectrum(mi)  # [1, T, bins]
            ln = torch.cat([logmag_net, logmag_net[:, -1:]], dim=1)[0].double().numpy()
            t0 = time.perf_counter(); ph = pghi_phase(ln, a.n_fft, a.hop, a_.tol_db)
            t_pghi = time.perf_counter() - t0
            add("pghi_net", synth(ln, ph), t_pghi)
            mag_n = torch.from_numpy(np.exp(ln)).T.unsqueeze(0).float()
            ang = torch.from_numpy(np.exp(1j * ph)).T.unsqueeze(0).to(torch.complex64)
            for k in ks:
                add(f"pghi_net+gl{k}", fgla(mag_n, ang, a, win, k))
            pmag = gl.magnitude(mi)[0].T.double().numpy()  # [T+1, bins]
            lp = np.log(np.maximum(pmag, 1e-10))
            add("pghi_pinv", synth(lp, pghi_phase(lp, a.n_fft, a.hop, a_.tol_db)))
            S = torch.stft(x, a.n_fft, a.hop, a.n_fft, win, center=True, pad_mode="reflect",
                           return_complex=True)
            lt = np.log(np.maximum(S.abs()[0].T.double().numpy(), 1e-10))
            add("pghi_true", synth(lt, pghi_phase(lt, a.n_fft, a.hop, a_.tol_db)))
            add("bound", torch.istft(gl.magnitude(mi) * torch.exp(1j * torch.angle(S)), a.n_fft, a.hop,
                                     a.n_fft, win, center=True, length=a.n_samples))
            if i % 10 == 0:
                print(f"{i}/{len(wav)}", flush=True)
        res = dict(inverter=os.path.relpath(a_.inverter, HERE), inverter_steps=int(st["step"]),
                   n_sounds=len(wav), tol_db=a_.tol_db, rows={})
        for name, ys in rows.items():
            y = torch.cat(ys)
            sc, mr = spectral_convergence(y, wav), mr_stft(y, wav)
            r = dict(sc=float(sc.mean()), mrstft=float(mr.mean()))
            if name in times:
                r["python_ms_median"] = 1000 * float(np.median(times[name]))
            res["rows"][name] = r
            print(f"{name:14s} SC {r['sc']:.3f}  MR-STFT {r['mrstft']:.3f}", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(a_.out)), exist_ok=True)
    json.dump(res, open(a_.out, "w"), indent=1)


if __name__ == "__main__":
    main()
