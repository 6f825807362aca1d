#!/usr/bin/env python3
"""Evaluate the exported model set on the validation split.

    OMP_NUM_THREADS=1 python evaluate.py [--assets ../assets] [--classifier-minutes 3]

Writes reports/eval.json, reports/report.md and PNG plots in reports/:
- MCNN on the true log-Mel of validation sounds: log-Mel L1 (natural-log units) and
  spectral convergence (STFT 1024/256) against the real sound;
- encode -> decode -> MCNN on the same sounds (the full WAE path);
- Griffin-Lim (32 and 100 iterations, momentum 0.99, from a mel pseudo-inverse) on the same
  Mel spectrograms, timed in the same run and on the same (single) thread as the MCNN;
- class accuracy of generated sounds: z ~ N(0, I) per class -> decoder -> MCNN -> a small
  CNN classifier trained on REAL training recordings only (never on generated sounds).
All modules are the exported TorchScript files of --assets.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import DrumData, augment, one_hot, peak_normalise  # noqa: E402
from model import CLASSES, AudioConfig, MelFrontEnd, mr_stft, spectral_convergence  # noqa: E402

EVAL_PEAK = 0.5  # validation sounds are peak-normalised to this (inside the training gain range)


def audio_config(meta: dict) -> AudioConfig:
    mm = meta["mel"]
    return AudioConfig(version=int(meta.get("schema_version", 1)),
                       sample_rate=meta["sample_rate"], n_fft=meta["n_fft"], hop=meta["hop"],
                       n_mels=meta["n_mels"], n_frames=meta["n_frames"], f_min=mm["f_min"],
                       f_max=mm["f_max"], log_floor=mm["log_floor"], norm_mean=mm["norm_mean"],
                       norm_std=mm["norm_std"])


class GriffinLim:
    """Mel -> linear magnitude by a clamped pseudo-inverse, then fast Griffin-Lim
    (Perraudin et al. 2013, momentum 0.99) with torch.stft/istft."""

    def __init__(self, a: AudioConfig, fe: MelFrontEnd):
        self.a = a
        self.fe = fe
        self.pinv = torch.linalg.pinv(fe.fb)
        self.window = torch.hann_window(a.n_fft)

    def magnitude(self, mel_norm: torch.Tensor) -> torch.Tensor:
        logmel = mel_norm * self.a.norm_std + self.a.norm_mean
        p = torch.clamp(torch.matmul(self.pinv, torch.exp(logmel)), min=0.0)
        mag = torch.sqrt(p)
        # STFT with center=True has T+1 frames for N = T*hop: repeat the last frame
        return torch.cat([mag, mag[:, :, -1:]], dim=2)

    def __call__(self, mel_norm: torch.Tensor, n_iter: int, momentum: float = 0.99) -> torch.Tensor:
        a = self.a
        mag = self.magnitude(mel_norm)
        g = torch.Generator().manual_seed(0)
        angles = torch.exp(2j * np.pi * torch.rand(mag.shape, generator=g))
        tprev = torch.zeros_like(angles)
        for _ in range(n_iter):
            y = torch.istft(mag * angles, a.n_fft, a.hop, a.n_fft, self.window, center=True,
                            length=a.n_samples)
            rebuilt = torch.stft(y, a.n_fft, a.hop, a.n_fft, self.window, center=True,
                                 pad_mode="reflect", return_complex=True)
            angles = rebuilt - (momentum / (1 + momentum)) * tprev
            tprev = rebuilt
            angles = angles / (angles.abs() + 1e-16)
        y = torch.istft(mag * angles, a.n_fft, a.hop, a.n_fft, self.window, center=True,
                        length=a.n_samples)
        return y.clamp(-1, 1)


class Classifier(nn.Module):
    def __init__(self, n_mels: int, n_classes: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(64, n_classes))

    def forward(self, mel):
        return self.net(mel.unsqueeze(1))


def train_classifier(data: DrumData, fe: MelFrontEnd, minutes: float, seed: int = 0):
    """Trained on REAL training recordings only (train split, no gain copies), augmented."""
    torch.manual_seed(seed)
    clf = Classifier(fe.fb.shape[0], len(CLASSES))
    opt = torch.optim.Adam(clf.parameters(), lr=2e-3, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    idx_pool = data.train_real_idx
    # class-balanced over real recordings
    w = torch.zeros(len(data.label))
    for c in range(len(CLASSES)):
        sel = idx_pool[data.label[idx_pool] == c]
        w[sel] = 1.0 / max(1, len(sel))
    t0 = time.time(); step = 0
    clf.train()
    while time.time() - t0 < minutes * 60:
        idx = torch.multinomial(w, 32, replacement=True, generator=gen)
        with torch.no_grad():
            mel = fe(augment(data.wav[idx], gen, sr=data.sample_rate))
        loss = F.cross_entropy(clf(mel), data.label[idx], label_smoothing=0.05)
        opt.zero_grad(); loss.backward(); opt.step(); step += 1
    clf.eval()
    return clf, step


def per_class_acc(pred: np.ndarray, lab: np.ndarray) -> dict:
    return {c: float((pred[lab == i] == i).mean()) if (lab == i).any() else None
            for i, c in enumerate(CLASSES)}


def logmel_l1(fe, y, x):
    return (fe.logmel(y) - fe.logmel(x)).abs().mean(dim=(1, 2))


def mean_pairwise_l1(mels: torch.Tensor) -> float:
    """Mean over all pairs i < j of mean |mel_i - mel_j| (normalised log-Mel [N, n_mels, T])."""
    f = mels.flatten(1)
    n = f.shape[0]
    if n < 2:
        return float("nan")
    d = torch.cdist(f, f, p=1) / f.shape[1]
    return float(d.sum() / (n * (n - 1)))


def diversity(fe, gen_wavs: torch.Tensor, gen_lab: np.ndarray, real_wavs: torch.Tensor, real_lab: np.ndarray) -> dict:
    """Within-class variety of generated sounds relative to real ones (issue #11): per class,
    the mean pairwise log-Mel L1 between generated sounds divided by the same between the real
    recordings of that class (all real recordings, both splits, no gain copies); 1.0 = as varied
    as real drums. Also the unweighted mean over classes."""
    per = {}
    with torch.no_grad():
        for i, c in enumerate(CLASSES):
            g = gen_wavs[torch.from_numpy(gen_lab == i)]
            r = real_wavs[torch.from_numpy(real_lab == i)]
            if len(g) < 2 or len(r) < 2:
                per[c] = None
                continue
            dg = mean_pairwise_l1(fe(peak_normalise(g, EVAL_PEAK)))
            dr = mean_pairwise_l1(fe(peak_normalise(r, EVAL_PEAK)))
            per[c] = dg / dr
    vals = [v for v in per.values() if v is not None]
    return dict(mean=float(np.mean(vals)) if vals else None, per_class=per)


HF_CUT_HZ = 11_025.0
HF_CLASSES = ("hihat_closed", "hihat_open", "crash", "ride", "metal_shaker")


def hf_share_db(wavs: torch.Tensor, sample_rate: int, cut_hz: float = HF_CUT_HZ) -> np.ndarray:
    """Per sound [B]: the share of its energy above ``cut_hz`` (power spectrum of the whole
    sound), in dB; -120 dB where there is none (a model whose Nyquist frequency is the cut)."""
    X = np.abs(np.fft.rfft(wavs.double().numpy(), axis=1)) ** 2
    f = np.fft.rfftfreq(wavs.shape[1], 1.0 / sample_rate)
    share = X[:, f >= cut_hz].sum(1) / (X.sum(1) + 1e-20)
    return 10.0 * np.log10(np.maximum(share, 1e-12))


def hf_by_class(wavs: torch.Tensor, lab: np.ndarray, sample_rate: int) -> dict:
    """Median HF share (dB) per class of ``wavs`` [B, samples] with labels ``lab`` [B]."""
    db = hf_share_db(wavs, sample_rate)
    return {c: (float(np.median(db[lab == i])) if (lab == i).any() else None) for i, c in enumerate(CLASSES)}


def per_class_mean(v: torch.Tensor, lab: np.ndarray) -> dict:
    v = v.numpy()
    return {c: (float(v[lab == i].mean()) if (lab == i).any() else None) for i, c in enumerate(CLASSES)}


def timed(fn, items):
    outs, ts = [], []
    for it in items:
        t = time.perf_counter()
        outs.append(fn(it))
        ts.append(time.perf_counter() - t)
    return torch.cat(outs), float(np.median(ts)) * 1000, float(np.mean(ts)) * 1000


def eval_inverter_ckpt(path: str, a: AudioConfig, mel: torch.Tensor, x: torch.Tensor) -> dict:
    """Spectral convergence and 1-thread time per sound of an inverter training checkpoint
    (train.py's format: net state dict + its ModelConfig), on the same true log-Mel."""
    from model import MCNN, ModelConfig
    st = torch.load(path, map_location="cpu", weights_only=False)
    m = ModelConfig(**st["m"])
    net = MCNN(a, m).eval()
    net.load_state_dict(st["net"])
    with torch.no_grad():
        net(mel[:1])
        y, ms, _ = timed(net, mel.split(1))
        sc = spectral_convergence(y, x)
    return dict(checkpoint=os.path.basename(path), steps=int(st["step"]), train_wall_s=round(float(st["wall"])),
                mcnn_heads=m.mcnn_heads, spectral_head_width=m.mcnn_spec_width,
                params=sum(p.numel() for p in net.parameters()),
                spectral_convergence=float(sc.mean()), spectral_convergence_median=float(sc.median()),
                ms_per_sound_eager=ms)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assets", default=os.path.join(HERE, "..", "assets"))
    ap.add_argument("--data", default=None,
                    help="data set of the model's contract (default: cache/dataset.npz for schema 1, "
                         "cache/v2/dataset.npz for schema 2)")
    ap.add_argument("--out", default=os.path.join(HERE, "reports"))
    ap.add_argument("--classifier-minutes", type=float, default=4.0)
    ap.add_argument("--n-gen", type=int, default=30, help="generated sounds per class")
    ap.add_argument("--ablation", action="append", default=[], metavar="NAME=CKPT",
                    help="also evaluate an inverter training checkpoint (e.g. the pure "
                         "transposed-conv MCNN) on the true log-Mel; repeatable")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    meta = json.load(open(os.path.join(args.assets, "model.json")))
    a = audio_config(meta)
    if args.data is None:
        args.data = os.path.join(HERE, "cache", *(("dataset.npz",) if a.version == 1 else ("v2", "dataset.npz")))
    fe = MelFrontEnd(a)
    dec = torch.jit.load(os.path.join(args.assets, "decoder.pt")).eval()
    mcnn = torch.jit.load(os.path.join(args.assets, "mcnn.pt")).eval()
    enc = torch.jit.load(os.path.join(args.assets, "encoder.pt")).eval()
    data = DrumData(args.data)
    vi = data.val_idx
    x = peak_normalise(data.wav[vi], EVAL_PEAK)
    lab = data.label[vi]
    c = one_hot(lab)
    res = dict(n_val=int(len(vi)), eval_peak=EVAL_PEAK, threads=torch.get_num_threads())
    with torch.no_grad():
        mel = fe(x)
        # warm-up
        mcnn(mel[:1]); dec(torch.zeros(1, meta["latent_dim"]), c[:1])
        gl = GriffinLim(a, fe)
        gl(mel[:1], 2)
        # per sound, interleaved (MCNN, GL-32, GL-100 on the same sound one after the other),
        # so that load from other processes affects all three alike
        outs = {"mcnn": [], "gl32": [], "gl100": []}
        tms = {"mcnn": [], "gl32": [], "gl100": []}
        for m1 in mel.split(1):
            for key, fn in (("mcnn", lambda q: mcnn(q)), ("gl32", lambda q: gl(q, 32)),
                            ("gl100", lambda q: gl(q, 100))):
                t_ = time.perf_counter()
                outs[key].append(fn(m1))
                tms[key].append(time.perf_counter() - t_)
        y_mcnn, y_gl32, y_gl100 = (torch.cat(outs[k]) for k in ("mcnn", "gl32", "gl100"))
        mcnn_ms = float(np.median(tms["mcnn"])) * 1000
        mcnn_ms_mean = float(np.mean(tms["mcnn"])) * 1000
        gl32_ms = float(np.median(tms["gl32"])) * 1000
        gl100_ms = float(np.median(tms["gl100"])) * 1000
        res["timing_ratio_per_sound_median"] = dict(
            gl32_over_mcnn=float(np.median(np.array(tms["gl32"]) / np.array(tms["mcnn"]))),
            gl100_over_mcnn=float(np.median(np.array(tms["gl100"]) / np.array(tms["mcnn"]))))
        z = enc(x, c)
        mel_rec = dec(z, c)
        y_wae = mcnn(mel_rec)
        # GL upper bound of the mel representation (true magnitudes, same pinv)
        methods = dict(mcnn_true_mel=y_mcnn, wae_encode_decode_mcnn=y_wae,
                       griffin_lim_32=y_gl32, griffin_lim_100=y_gl100)
        for k, y in methods.items():
            sc = spectral_convergence(y, x)
            l1 = logmel_l1(fe, y, x)
            mr = mr_stft(y, x)
            res[k] = dict(spectral_convergence=float(sc.mean()), logmel_l1=float(l1.mean()),
                          spectral_convergence_median=float(sc.median()), mr_stft=float(mr.mean()),
                          per_class_sc=per_class_mean(sc, lab.numpy()),
                          per_class_mr_stft=per_class_mean(mr, lab.numpy()))
        res["wae_mel_reconstruction_l1_normalised"] = float((mel_rec - mel).abs().mean())
        res["wae_mel_reconstruction_l1_logmel"] = float((mel_rec - mel).abs().mean() * a.norm_std)
        res["timing_ms_per_sound"] = dict(mcnn_median=mcnn_ms, mcnn_mean=mcnn_ms_mean,
                                          griffin_lim_32_median=gl32_ms, griffin_lim_100_median=gl100_ms,
                                          speedup_vs_gl32=gl32_ms / mcnn_ms, speedup_vs_gl100=gl100_ms / mcnn_ms)
        res["ablations"] = {}
        for spec in args.ablation:
            name, ck = spec.split("=", 1)
            res["ablations"][name] = eval_inverter_ckpt(ck, a, mel, x)
        # decoder+mcnn per sound
        zz = torch.randn(1, meta["latent_dim"])
        _, dm_ms, _ = timed(lambda cc: mcnn(dec(zz, cc)), [c[i:i + 1] for i in range(min(40, len(c)))])
        res["timing_ms_per_sound"]["decoder_plus_mcnn_median"] = dm_ms

    # classifier on real training recordings only
    t0 = time.time()
    clf, clf_steps = train_classifier(data, fe, args.classifier_minutes)
    res["classifier"] = dict(steps=clf_steps, train_s=round(time.time() - t0, 1),
                             trained_on="real training-split recordings only (no gain copies, no generated sounds)")
    g = torch.Generator().manual_seed(123)
    with torch.no_grad():
        pv = clf(fe(x)).argmax(1).numpy()
        res["classifier"]["val_real_accuracy"] = float((pv == lab.numpy()).mean())
        res["classifier"]["val_real_per_class"] = per_class_acc(pv, lab.numpy())
        pm = clf(fe(peak_normalise(y_mcnn, EVAL_PEAK))).argmax(1).numpy()
        res["classifier"]["val_mcnn_resynth_accuracy"] = float((pm == lab.numpy()).mean())
        gl_lab, gen_wavs, gen_mels = [], [], []
        for i in range(len(CLASSES)):
            zg = torch.randn(args.n_gen, meta["latent_dim"], generator=g)
            cg = torch.zeros(args.n_gen, len(CLASSES)); cg[:, i] = 1.0
            mg = dec(zg, cg)
            gen_mels.append(mg)
            gen_wavs.append(mcnn(mg))
            gl_lab += [i] * args.n_gen
        gen_wavs = torch.cat(gen_wavs); gen_mels = torch.cat(gen_mels); gl_lab = np.array(gl_lab)
        pg = clf(fe(peak_normalise(gen_wavs, EVAL_PEAK))).argmax(1).numpy()
        pgm = clf(gen_mels).argmax(1).numpy()
    res["generated"] = dict(n_per_class=args.n_gen, prior="z ~ N(0, I), one-hot c",
                            accuracy=float((pg == gl_lab).mean()),
                            per_class=per_class_acc(pg, gl_lab),
                            decoder_mel_accuracy=float((pgm == gl_lab).mean()),
                            decoder_mel_per_class=per_class_acc(pgm, gl_lab),
                            chance=1.0 / len(CLASSES))
    # as the plugin uses the latent space: per-class PCA mean + axes from model.json
    with torch.no_grad():
        wavs2 = []
        for i, cname in enumerate(CLASSES):
            pc = meta["latent"]["per_class"][cname]
            comps = torch.tensor(pc["components"]); std = torch.tensor(pc["std"])
            coef = torch.randn(args.n_gen, len(std), generator=g) * std
            zg = torch.tensor(pc.get("centre", pc["mean"])).unsqueeze(0) + coef @ comps
            cg = torch.zeros(args.n_gen, len(CLASSES)); cg[:, i] = 1.0
            wavs2.append(mcnn(dec(zg, cg)))
        p2 = clf(fe(peak_normalise(torch.cat(wavs2), EVAL_PEAK))).argmax(1).numpy()
    res["generated_class_pca"] = dict(prior="z = per-class pad centre (model.json centre, else mean) + N(0, std^2) along its PCA axes",
                                      accuracy=float((p2 == gl_lab).mean()),
                                      per_class=per_class_acc(p2, gl_lab))
    # variety: the pad (x, y, fine uniform over the pad at range 2) and `ndm kit --per-class`
    # (pad centre + 0.6 prior std of variation), each against the real recordings of the class
    with torch.no_grad():
        amounts = (0.3, 0.6, 1.0)
        pad_wavs, kit_wavs = [], {a_: [] for a_ in amounts}
        for i, cname in enumerate(CLASSES):
            pc = meta["latent"]["per_class"][cname]
            comps = torch.tensor(pc["components"][:3]); std = torch.tensor(pc["std"][:3])
            centre = torch.tensor(pc.get("centre", pc["mean"])).unsqueeze(0)
            cg = torch.zeros(args.n_gen, len(CLASSES)); cg[:, i] = 1.0
            pos = torch.rand(args.n_gen, 3, generator=g) * 2 - 1
            pad_wavs.append(mcnn(dec(centre + 2.0 * (pos * std) @ comps, cg)))
            eps = torch.randn(args.n_gen, meta["latent_dim"], generator=g)
            for a_ in amounts:
                kit_wavs[a_].append(mcnn(dec(centre + a_ * eps, cg)))
        pad_wavs = torch.cat(pad_wavs); kit_wavs = {a_: torch.cat(w_) for a_, w_ in kit_wavs.items()}
        real = data.train_real_idx.tolist() + [int(v) for v in vi if not bool(data.is_gain_copy[v])]
        real_w, real_l = data.wav[real], data.label[real].numpy()
        p_pad = clf(fe(peak_normalise(pad_wavs, EVAL_PEAK))).argmax(1).numpy()
        p_kit = {a_: clf(fe(peak_normalise(w_, EVAL_PEAK))).argmax(1).numpy() for a_, w_ in kit_wavs.items()}
    res["diversity"] = dict(
        note="mean pairwise log-Mel L1 within a class, generated / real (1.0 = as varied as real recordings); "
             "class accuracy by the classifier trained on real recordings only",
        pad_sweep=dict(how="x, y, fine uniform in [-1, 1] at range 2 (the XY pad and fine knob)",
                       **diversity(fe, pad_wavs, gl_lab, real_w, real_l), class_accuracy=float((p_pad == gl_lab).mean())),
        **{f"variation_{a_}": dict(how=f"pad centre + {a_} x N(0, I) (variation {a_}; the plugin's default kit uses "
                                       f"kit::DEFAULT_VARIATION = 0.3, ndm kit --per-class 0.6)",
                                   **diversity(fe, kit_wavs[a_], gl_lab, real_w, real_l),
                                   class_accuracy=float((p_kit[a_] == gl_lab).mean())) for a_ in amounts},
        prior=dict(how="z ~ N(0, I)", **diversity(fe, gen_wavs, gl_lab, real_w, real_l),
                   class_accuracy=res["generated"]["accuracy"]))
    # energy above 11 kHz: real recordings of each class vs what the model plays
    sr = int(meta["sample_rate"])
    res["hf_share_db"] = dict(
        note=f"median per class of the share of energy above {HF_CUT_HZ:.0f} Hz, dB (model rate {sr} Hz)",
        real=hf_by_class(real_w, real_l, sr), pad_sweep=hf_by_class(pad_wavs, gl_lab, sr),
        variation_1_0=hf_by_class(kit_wavs[1.0], gl_lab, sr), prior=hf_by_class(gen_wavs, gl_lab, sr))
    hf = res["hf_share_db"]
    hf["gap_db_pad_sweep"] = {c: hf["pad_sweep"][c] - hf["real"][c] for c in HF_CLASSES
                             if hf["pad_sweep"][c] is not None and hf["real"][c] is not None}
    # the sound at the pad centre (x = y = fine = 0, no variation) and at the class mean
    with torch.no_grad():
        eye = torch.eye(len(CLASSES))
        pcs = [meta["latent"]["per_class"][c] for c in CLASSES]
        at = {}
        for key in ("centre", "mean"):
            zc = torch.tensor([p.get(key, p["mean"]) for p in pcs], dtype=torch.float32)
            pred = clf(fe(peak_normalise(mcnn(dec(zc, eye)), EVAL_PEAK))).argmax(1).numpy()
            at[key] = {c: CLASSES[int(pred[i])] for i, c in enumerate(CLASSES)}
    res["pad_centre_sound"] = dict(note="class the judge hears at z = centre (the pad's centre) and at z = mean",
                                   centre=at["centre"], mean=at["mean"],
                                   centre_correct=sum(at["centre"][c] == c for c in CLASSES),
                                   mean_correct=sum(at["mean"][c] == c for c in CLASSES))
    conf = np.zeros((len(CLASSES), len(CLASSES)), dtype=int)
    for t, p in zip(gl_lab, pg):
        conf[t, p] += 1
    res["generated"]["confusion"] = conf.tolist()
    t = res["timing_ms_per_sound"]
    res["done_criteria"] = dict(
        mcnn_sc_below_gl32=res["mcnn_true_mel"]["spectral_convergence"] < res["griffin_lim_32"]["spectral_convergence"],
        mcnn_mr_stft_below_gl32=res["mcnn_true_mel"]["mr_stft"] < res["griffin_lim_32"]["mr_stft"],
        mcnn_10x_faster_than_gl32=t["speedup_vs_gl32"] >= 10,
        hf_share_within_6_db_for_hats_cymbals_shakers=bool(hf["gap_db_pad_sweep"]) and all(
            abs(v) <= 6.0 for v in hf["gap_db_pad_sweep"].values()),
        every_class_above_chance_x3=all(v is not None and v > 3 / len(CLASSES)
                                        for v in res["generated"]["per_class"].values()),
        diversity_at_least_0_8_with_class_accuracy_0_75=bool(
            res["diversity"]["pad_sweep"]["mean"] is not None and res["diversity"]["pad_sweep"]["mean"] >= 0.8
            and res["diversity"]["pad_sweep"]["class_accuracy"] >= 0.75))
    res["model"] = dict(name=meta["name"], n_mels=meta["n_mels"], training=meta.get("training"))
    with open(os.path.join(args.out, "eval.json"), "w") as f:
        json.dump(res, f, indent=1)
    plots(args.out, a, fe, x, lab, methods, mel, mel_rec, gen_mels, gen_wavs, gl_lab, enc, data, meta)
    plot_hats_cymbals(args.out, a, x, lab, pad_wavs, gen_wavs, gl_lab)
    write_report(args.out, res, meta)
    print(json.dumps({k: v for k, v in res.items() if k != "model"}, indent=1))


def plots(out, a, fe, x, lab, methods, mel, mel_rec, gen_mels, gen_wavs, gl_lab, enc, data, meta):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    # pick one validation sound per class (where present)
    picks = []
    for i in range(len(CLASSES)):
        w = torch.nonzero(lab == i).flatten()
        if len(w):
            picks.append(int(w[0]))
    picks = picks[:6]
    rows = ["real", "mcnn_true_mel", "wae_encode_decode_mcnn", "griffin_lim_32"]
    fig, ax = plt.subplots(len(rows), len(picks), figsize=(3 * len(picks), 2.4 * len(rows)))
    with torch.no_grad():
        for j, p in enumerate(picks):
            for r, name in enumerate(rows):
                y = x[p:p + 1] if name == "real" else methods[name][p:p + 1]
                ax[r, j].imshow(fe(y)[0].numpy(), origin="lower", aspect="auto", vmin=-1.5, vmax=3)
                ax[r, j].set_title(f"{CLASSES[int(lab[p])]}: {name}", fontsize=7)
                ax[r, j].axis("off")
    fig.tight_layout(); fig.savefig(os.path.join(out, "spectrograms_val.png"), dpi=80); plt.close(fig)

    fig, ax = plt.subplots(len(picks), 1, figsize=(10, 1.6 * len(picks)))
    tt = np.arange(a.n_samples) / a.sample_rate
    for j, p in enumerate(picks):
        ax[j].plot(tt, x[p].numpy(), lw=0.5, label="real")
        ax[j].plot(tt, methods["mcnn_true_mel"][p].numpy(), lw=0.5, alpha=0.7, label="MCNN(true mel)")
        ax[j].plot(tt, methods["wae_encode_decode_mcnn"][p].numpy(), lw=0.5, alpha=0.6, label="enc-dec-MCNN")
        ax[j].set_ylabel(CLASSES[int(lab[p])], fontsize=7)
    ax[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout(); fig.savefig(os.path.join(out, "waveforms_val.png"), dpi=80); plt.close(fig)

    n_gen = int((gl_lab == 0).sum())
    fig, ax = plt.subplots(3, len(CLASSES), figsize=(2 * len(CLASSES), 5.5))
    for i in range(len(CLASSES)):
        for r in range(3):
            ax[r, i].imshow(gen_mels[i * n_gen + r].numpy(), origin="lower", aspect="auto", vmin=-1.5, vmax=3)
            ax[r, i].axis("off")
        ax[0, i].set_title(CLASSES[i], fontsize=7)
    fig.suptitle("generated (z ~ N(0,I)) decoder log-Mel, per class", fontsize=9)
    fig.tight_layout(); fig.savefig(os.path.join(out, "generated_mels.png"), dpi=80); plt.close(fig)

    idx = data.train_real_idx
    with torch.no_grad():
        codes = torch.cat([enc(data.wav[i], one_hot(data.label[i])) for i in torch.split(idx, 64)]).numpy()
    gp = meta["latent"]["global"]
    P = (codes - np.array(gp["mean"])) @ np.array(gp["components"]).T
    labels = data.label[idx].numpy()
    fig, ax = plt.subplots(1, 2, figsize=(12, 5.5))
    cmap = plt.get_cmap("tab20")
    for i, cname in enumerate(CLASSES):
        s = labels == i
        ax[0].scatter(P[s, 0], P[s, 1], s=8, color=cmap(i), label=cname)
        ax[1].scatter(P[s, 0], P[s, 2], s=8, color=cmap(i), label=cname)
    ax[0].set_xlabel("PC1"); ax[0].set_ylabel("PC2"); ax[1].set_xlabel("PC1"); ax[1].set_ylabel("PC3")
    ax[1].legend(fontsize=7, markerscale=2)
    fig.suptitle("training-set latent codes (encoder), global PCA, coloured by class")
    fig.tight_layout(); fig.savefig(os.path.join(out, "latent_pca.png"), dpi=80); plt.close(fig)


def plot_hats_cymbals(out, a, x, lab, pad_wavs, gen_wavs, gen_lab):
    """Linear-frequency STFT (dB, 0 to Nyquist) of real validation vs generated hats and
    cymbals: where the model's top octave and tails are (reports/hats_cymbals.png)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = ("hihat_closed", "hihat_open", "crash", "ride")
    rows = [("real (validation)", x, lab.numpy()), ("generated: pad sweep", pad_wavs, gen_lab),
            ("generated: z ~ N(0, I)", gen_wavs, gen_lab)]
    win = torch.hann_window(a.n_fft)
    fig, ax = plt.subplots(len(rows), len(names), figsize=(3.2 * len(names), 2.6 * len(rows)))
    for j, cname in enumerate(names):
        ci = CLASSES.index(cname)
        for r, (title, w, lb) in enumerate(rows):
            hit = np.nonzero(lb == ci)[0]
            axx = ax[r, j]
            if not len(hit):
                axx.axis("off"); continue
            y = peak_normalise(w[int(hit[0])].unsqueeze(0), EVAL_PEAK)[0]
            S = torch.stft(y, a.n_fft, a.hop, a.n_fft, win, center=True, return_complex=True).abs()
            db = 20 * torch.log10(S + 1e-6)
            axx.imshow(db.numpy(), origin="lower", aspect="auto", vmin=-100, vmax=0,
                       extent=(0, len(y) / a.sample_rate, 0, a.sample_rate / 2000))
            axx.axhline(HF_CUT_HZ / 1000, color="w", lw=0.5, ls="--")
            axx.set_title(f"{cname}: {title}", fontsize=7)
            axx.tick_params(labelsize=6)
            if j == 0:
                axx.set_ylabel("kHz", fontsize=7)
            if r == len(rows) - 1:
                axx.set_xlabel("s", fontsize=7)
    fig.suptitle(f"STFT dB ({a.sample_rate} Hz model; dashed: 11.025 kHz)", fontsize=9)
    fig.tight_layout(); fig.savefig(os.path.join(out, "hats_cymbals.png"), dpi=80); plt.close(fig)


def write_report(out, res, meta):
    tr = meta.get("training") or {}
    t = res["timing_ms_per_sound"]
    L = []
    L.append(f"# Neural Drum Machine — evaluation report ({meta['name']})\n")
    L.append(f"Validation split: {res['n_val']} sounds (held out by recording_group; Glen MacArthur kits "
             f"all on the training side), peak-normalised to {res['eval_peak']}. All timings on "
             f"{res['threads']} thread, exported TorchScript.\n")
    L.append("## Training\n")
    L.append(f"- command: `{tr.get('command')}`")
    if tr:
        w, m = tr.get("wae", {}), tr.get("mcnn", {})
        L.append(f"- WAE: {w.get('steps')} steps (~{w.get('epochs')} epochs of the train split at batch 32), "
                 f"wall {w.get('wall_s')} s, final {w.get('final')}")
        L.append(f"- MCNN: {m.get('steps')} steps total ({m.get('finetune_steps')} of them fine-tuning on WAE "
                 f"outputs), wall {m.get('wall_s')} s, final {m.get('final')}, final fine-tune {m.get('final_finetune')}")
        L.append(f"- data set sha1 {tr.get('dataset_sha1')}, {tr.get('n_train_items')} train items "
                 f"(incl. gain copies), {tr.get('n_val_items')} val items")
        ex = tr.get("export", {})
        if "timing_1thread" in ex:
            L.append(f"- export timing (1 thread, B=1): {ex['timing_1thread']}")
    L.append("\n## Reconstruction on the validation split\n")
    L.append("| method | spectral convergence (mean) | SC (median) | MR-STFT (mean) | log-Mel L1 (ln units) | ms per sound |")
    L.append("|---|---|---|---|---|---|")
    tm = dict(mcnn_true_mel=t["mcnn_median"], griffin_lim_32=t["griffin_lim_32_median"],
              griffin_lim_100=t["griffin_lim_100_median"], wae_encode_decode_mcnn=None)
    for k in ["mcnn_true_mel", "griffin_lim_32", "griffin_lim_100", "wae_encode_decode_mcnn"]:
        r = res[k]
        ms = "" if tm[k] is None else f"{tm[k]:.2f}"
        L.append(f"| {k} | {r['spectral_convergence']:.4f} | {r['spectral_convergence_median']:.4f} | "
                 f"{r.get('mr_stft', float('nan')):.3f} | {r['logmel_l1']:.4f} | {ms} |")
    if "per_class_sc" in res["mcnn_true_mel"]:
        L.append("\nPer class (validation sounds of the class; SC / MR-STFT):\n")
        L.append("| class | inverter SC | GL-32 SC | inverter MR-STFT | GL-32 MR-STFT |")
        L.append("|---|---|---|---|---|")
        mi, gi = res["mcnn_true_mel"], res["griffin_lim_32"]
        f_ = lambda v: "–" if v is None else f"{v:.3f}"
        for c in CLASSES:
            L.append(f"| {c} | {f_(mi['per_class_sc'][c])} | {f_(gi['per_class_sc'][c])} | "
                     f"{f_(mi['per_class_mr_stft'][c])} | {f_(gi['per_class_mr_stft'][c])} |")
    if res.get("ablations"):
        L.append("\nInverter layouts tried (training checkpoints, eager PyTorch, same true log-Mel):\n")
        L.append("| layout | checkpoint | steps | train wall (s) | params | SC (mean) | SC (median) | ms per sound |")
        L.append("|---|---|---|---|---|---|---|---|")
        for k, r in res["ablations"].items():
            L.append(f"| {k} | {r['checkpoint']} | {r['steps']} | {r['train_wall_s']} | {r['params']} | "
                     f"{r['spectral_convergence']:.4f} | {r['spectral_convergence_median']:.4f} | "
                     f"{r['ms_per_sound_eager']:.2f} |")
    L.append(f"\nMCNN speed-up vs GL-32: {t['speedup_vs_gl32']:.1f}x, vs GL-100: {t['speedup_vs_gl100']:.1f}x; "
             f"decoder+MCNN: {t['decoder_plus_mcnn_median']:.2f} ms per sound.")
    L.append(f"WAE log-Mel reconstruction L1 (normalised units): {res['wae_mel_reconstruction_l1_normalised']:.4f}\n")
    g = res["generated"]; cl = res["classifier"]
    L.append("## Class accuracy of generated sounds\n")
    L.append(f"Classifier: small CNN trained {cl['steps']} steps on {cl['trained_on']}; accuracy on REAL "
             f"validation sounds {cl['val_real_accuracy']:.3f}, on MCNN resynthesised validation sounds "
             f"{cl['val_mcnn_resynth_accuracy']:.3f}.\n")
    L.append(f"Generated: {g['n_per_class']} per class, {g['prior']} -> decoder -> MCNN -> classifier. "
             f"Overall {g['accuracy']:.3f} (chance {g['chance']:.3f}); on the decoder's log-Mel directly "
             f"{g['decoder_mel_accuracy']:.3f}.\n")
    g2 = res["generated_class_pca"]
    L.append(f"Sampling as the plugin does (per-class pad centre and PCA axes of model.json): overall "
             f"{g2['accuracy']:.3f}.\n")
    pcs_ = res["pad_centre_sound"]
    L.append(f"The single sound at the pad centre is heard as its class for {pcs_['centre_correct']}/"
             f"{len(CLASSES)} classes (at the class mean instead: {pcs_['mean_correct']}/{len(CLASSES)}).\n")
    L.append("| class | generated, N(0,I) (audio) | generated, N(0,I) (decoder mel) | generated, class PCA (audio) | real val |")
    L.append("|---|---|---|---|---|")
    for c in CLASSES:
        rv = cl["val_real_per_class"].get(c)
        L.append(f"| {c} | {g['per_class'][c]:.2f} | {g['decoder_mel_per_class'][c]:.2f} | "
                 f"{g2['per_class'][c]:.2f} | {'' if rv is None else f'{rv:.2f}'} |")
    if "diversity" in res:
        dv = res["diversity"]
        L.append("\n## Variety within a class (generated / real mean pairwise log-Mel L1)\n")
        rows = [k for k in dv if k != "note"]
        L.append("| class | " + " | ".join(rows) + " |")
        L.append("|---|" + "---|" * len(rows))
        for c in CLASSES:
            cells = [dv[k]["per_class"].get(c) for k in rows]
            L.append(f"| {c} | " + " | ".join("–" if v is None else f"{v:.2f}" for v in cells) + " |")
        L.append("| **mean** | " + " | ".join(f"{dv[k]['mean']:.2f}" for k in rows) + " |")
        L.append("| class accuracy | " + " | ".join(f"{dv[k]['class_accuracy']:.2f}" for k in rows) + " |")
    if "hf_share_db" in res:
        hf = res["hf_share_db"]
        L.append(f"\n## Energy above 11 kHz ({hf['note']})\n")
        L.append("| class | real | pad sweep | variation 1.0 | z ~ N(0, I) |")
        L.append("|---|---|---|---|---|")
        f_ = lambda v: "–" if v is None else f"{v:.1f}"
        for c in CLASSES:
            L.append(f"| {c} | {f_(hf['real'][c])} | {f_(hf['pad_sweep'][c])} | {f_(hf['variation_1_0'][c])} | "
                     f"{f_(hf['prior'][c])} |")
    L.append("\n## Done criteria\n")
    for k, v in res["done_criteria"].items():
        L.append(f"- {k}: {'PASS' if v else 'FAIL'}")
    L.append("\n## Plots\n")
    for p, cap in [("spectrograms_val.png", "real vs MCNN(true mel) vs encode-decode-MCNN vs GL-32 (log-Mel)"),
                   ("waveforms_val.png", "waveforms"), ("generated_mels.png", "decoder samples from the prior"),
                   ("hats_cymbals.png", "real vs generated hats and cymbals, linear-frequency STFT (dB)"),
                   ("latent_pca.png", "latent PCA of the training codes")]:
        L.append(f"![{cap}]({p})\n")
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
