#!/usr/bin/env python3
"""Measurements behind audio contract v2 (README "Audio contract v2").

    OMP_NUM_THREADS=1 python measure_contract.py [--data cache/v2/dataset.npz] [--out reports/contract_v2.json]
    OMP_NUM_THREADS=1 python measure_contract.py --inverter runs/fullband-v2/mcnn.pt --out reports/inverter_v2.json

On the validation split (real recordings, no gain copies, held apart by recording group) of the
44.1 kHz data set, for several (n_fft, n_mels) choices at hop 256:
- Griffin-Lim 32 (fast GL, momentum 0.99, from the clamped mel pseudo-inverse, as evaluate.py)
  spectral convergence (STFT 1024/256) and MR-STFT (mean over 512/1024/2048 of per-sound SC +
  log-magnitude L1, hops n/4) against the real sound, and its time per sound (one thread);
- the same with the TRUE phase on the pseudo-inverse magnitude ("mel magnitude bound": what
  an inverter without a learned magnitude correction could reach at best);
- decoder + spectral inverter cost (random weights, B = 1, one thread) for the candidates.
Also the length statistics (share of each class truncated by the window, energy share in the
last 0.5 s) and the share of energy above 11 kHz per class.
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
from model import (CLASSES, MCNN, Decoder, MelFrontEnd, audio_config, model_config, mr_stft,  # noqa: E402
                   spectral_convergence)


def measure_gl(wav: torch.Tensor, n_fft: int, n_mels: int, n_iter: int = 32) -> dict:
    a = audio_config(2, n_fft=n_fft, n_mels=n_mels)
    fe = MelFrontEnd(a)
    with torch.no_grad():
        lm = fe.logmel(wav)
    a.norm_mean, a.norm_std = float(lm.mean()), float(lm.std())
    fe.set_norm(a.norm_mean, a.norm_std)
    gl = GriffinLim(a, fe)
    mel = fe(wav)
    # GL per sound (timed), one thread
    ys, ts = [], []
    for i in range(len(wav)):
        t0 = time.perf_counter()
        ys.append(gl(mel[i:i + 1], n_iter))
        ts.append(time.perf_counter() - t0)
    y = torch.cat(ys)
    # mel magnitude bound: pinv magnitude with the true phase
    mag = gl.magnitude(mel)
    S = torch.stft(wav, a.n_fft, a.hop, a.n_fft, gl.window, center=True, pad_mode="reflect",
                   return_complex=True)
    yb = torch.istft(mag * torch.exp(1j * torch.angle(S)), a.n_fft, a.hop, a.n_fft, gl.window,
                     center=True, length=a.n_samples)
    empty = int((fe.fb.sum(1) <= 0).sum())
    return dict(n_fft=n_fft, n_mels=n_mels, empty_mel_bands=empty,
                gl32_sc=float(spectral_convergence(y, wav).mean()),
                gl32_mrstft=float(mr_stft(y, wav).mean()),
                gl32_ms_per_sound=1000 * float(np.median(ts)),
                bound_sc=float(spectral_convergence(yb, wav).mean()),
                bound_mrstft=float(mr_stft(yb, wav).mean()))


def time_model(n_fft: int, n_mels: int, n_frames: int = 344, width: int = 256, blocks: int = 3,
               n: int = 20, bf16: bool = False) -> dict:
    a = audio_config(2, n_fft=n_fft, n_mels=n_mels, n_frames=n_frames)
    m = model_config(2, mcnn_spec_width=width, mcnn_spec_blocks=blocks)
    dec, inv = Decoder(a, m).eval(), MCNN(a, m).eval()
    inv.to_inference_bf16()
    z, c = torch.randn(1, m.latent_dim), torch.zeros(1, m.n_classes)
    c[0, 0] = 1
    out = {}
    with torch.no_grad():
        for name, use_bf16 in (("fp32", False), ("bf16", True)) if bf16 else (("fp32", False),):
            inv.set_gemm_bf16(use_bf16)
            for _ in range(3):
                inv(dec(z, c))
            td, ti = [], []
            for _ in range(n):
                t0 = time.perf_counter(); mel = dec(z, c); t1 = time.perf_counter()
                inv(mel); t2 = time.perf_counter()
                td.append(t1 - t0); ti.append(t2 - t1)
            out[f"decoder_ms"] = 1000 * float(np.median(td))
            out[f"inverter_{name}_ms"] = 1000 * float(np.median(ti))
    out.update(n_fft=n_fft, n_mels=n_mels, n_frames=n_frames, width=width, blocks=blocks,
               decoder_params=sum(p.numel() for p in dec.parameters()),
               inverter_params=sum(p.numel() for p in inv.parameters()))
    return out


def eval_inverter(path: str, wav: torch.Tensor, gl_iters: int = 32) -> dict:
    """A train.py inverter checkpoint against Griffin-Lim on the SAME log-Mels (the checkpoint's
    contract and normalisation) of the validation sounds: SC, MR-STFT, 1-thread ms per sound
    (eager float32, B = 1, sound by sound, interleaved with GL)."""
    from model import AudioConfig, ModelConfig
    st = torch.load(path, map_location="cpu", weights_only=False)
    a, m = AudioConfig(**st["a"]), ModelConfig(**st["m"])
    net = MCNN(a, m).eval()
    net.load_state_dict(st["net"])
    fe = MelFrontEnd(a)
    gl = GriffinLim(a, fe)
    with torch.no_grad():
        mel = fe(wav)
        net(mel[:1])
        ys, yg, tn, tg = [], [], [], []
        for i in range(len(wav)):
            t0 = time.perf_counter(); ys.append(net(mel[i:i + 1])); t1 = time.perf_counter()
            yg.append(gl(mel[i:i + 1], gl_iters)); t2 = time.perf_counter()
            tn.append(t1 - t0); tg.append(t2 - t1)
        y, g = torch.cat(ys), torch.cat(yg)
        sc_n, sc_g = spectral_convergence(y, wav), spectral_convergence(g, wav)
        mr_n, mr_g = mr_stft(y, wav), mr_stft(g, wav)
    ratio = np.array(tg) / np.array(tn)
    return dict(checkpoint=path, steps=int(st["step"]), train_wall_s=round(float(st["wall"])),
                params=sum(p.numel() for p in net.parameters()), n_sounds=len(wav),
                inverter_sc=float(sc_n.mean()), inverter_mrstft=float(mr_n.mean()),
                gl_iters=gl_iters, gl_sc=float(sc_g.mean()), gl_mrstft=float(mr_g.mean()),
                inverter_ms_median=1000 * float(np.median(tn)), gl_ms_median=1000 * float(np.median(tg)),
                speed_ratio_median=float(np.median(ratio)),
                inverter_better_sc_share=float((sc_n < sc_g).float().mean()))


def length_stats(d, val_sr: int) -> dict:
    wav, lab = d["wav"], d["label"]
    real = ~d["is_gain_copy"]
    N = wav.shape[1]
    out = {}
    for ci, c in enumerate(CLASSES):
        sel = real & (lab == ci)
        if not sel.any():
            continue
        e = wav[sel] ** 2
        tot = e.sum(1) + 1e-12
        tail = e[:, int(1.5 * val_sr):].sum(1) / tot
        last = e[:, N - int(0.5 * val_sr):].sum(1) / tot
        X = np.abs(np.fft.rfft(wav[sel], axis=1)) ** 2
        f = np.fft.rfftfreq(N, 1 / val_sr)
        hi = X[:, f >= 11025].sum(1) / (X.sum(1) + 1e-12)
        out[c] = dict(n=int(sel.sum()), energy_after_1_5s_median=float(np.median(tail)),
                      energy_last_0_5s_median=float(np.median(last)),
                      hf_above_11k_db_median=float(10 * np.log10(np.median(hi) + 1e-12)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(HERE, "cache", "v2", "dataset.npz"))
    ap.add_argument("--out", default=os.path.join(HERE, "reports", "contract_v2.json"))
    ap.add_argument("--configs", default="1024:128,1024:256,2048:128,2048:256,2048:512")
    ap.add_argument("--max-sounds", type=int, default=0, help="0: all validation sounds")
    ap.add_argument("--length-config", default="1024:128",
                    help="n_fft:n_mels at which 1.5 s (258 frames) and 2 s (344) are timed")
    ap.add_argument("--no-length", action="store_true", help="skip the length / HF statistics")
    ap.add_argument("--cost-configs", default=None, help="n_fft:n_mels:width:blocks list to time "
                    "(default: every --configs entry at width 256, 3 blocks)")
    ap.add_argument("--skip-gl", action="store_true")
    ap.add_argument("--bf16", action="store_true", help="also time bf16 GEMMs (slow without AVX512-BF16)")
    ap.add_argument("--inverter", default="", help="only evaluate this train.py inverter checkpoint "
                    "against Griffin-Lim-32 on the same spectrograms (prints JSON, writes --out)")
    a_ = ap.parse_args()
    torch.set_num_threads(1)
    d = dict(np.load(a_.data))
    sr = int(d["sample_rate"])
    sel = np.nonzero(d["is_val"] & ~d["is_gain_copy"])[0]
    if a_.max_sounds:
        sel = sel[: a_.max_sounds]
    wav = torch.from_numpy(d["wav"][sel])
    wav = wav * (0.5 / wav.abs().amax(1, keepdim=True).clamp_min(1e-6))
    if a_.inverter:
        r = eval_inverter(a_.inverter, wav)
        print(json.dumps(r, indent=1))
        os.makedirs(os.path.dirname(os.path.abspath(a_.out)), exist_ok=True)
        json.dump(r, open(a_.out, "w"), indent=1)
        return
    res = dict(n_val_sounds=len(sel), sample_rate=sr, n_samples=int(d["n_samples"]),
               hop=256, gl=[], cost=[])
    for cfg in ([] if a_.skip_gl else a_.configs.split(",")):
        n_fft, n_mels = (int(v) for v in cfg.split(":"))
        r = measure_gl(wav, n_fft, n_mels)
        print(json.dumps(r), flush=True)
        res["gl"].append(r)
    costs = a_.cost_configs.split(",") if a_.cost_configs else [c + ":256:3" for c in a_.configs.split(",")]
    for cfg in costs:
        n_fft, n_mels, width, blocks = (int(v) for v in cfg.split(":"))
        r = time_model(n_fft, n_mels, width=width, blocks=blocks, bf16=a_.bf16)
        print(json.dumps(r), flush=True)
        res["cost"].append(r)
    if not a_.no_length:
        n_fft, n_mels = (int(v) for v in a_.length_config.split(":"))
        for nf in (258, 344):  # 1.5 s vs 2.0 s at the chosen resolution
            r = time_model(n_fft, n_mels, n_frames=nf)
            print(json.dumps(r), flush=True)
            res["cost"].append(r)
        res["length_hf"] = length_stats(d, sr)
        print(json.dumps(res["length_hf"], indent=1))
    os.makedirs(os.path.dirname(a_.out), exist_ok=True)
    json.dump(res, open(a_.out, "w"), indent=1)


if __name__ == "__main__":
    main()
