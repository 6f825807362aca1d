#!/usr/bin/env python3
"""Train the conditional WAE and the MCNN inverter on CPU (one thread).

    OMP_NUM_THREADS=1 python train.py --stages wae,mcnn,finetune \
        --wae-minutes 12 --mcnn-minutes 30 --finetune-minutes 6

Stages (each resumes from checkpoints/<stage>.pt when present, and runs for a wall-clock
budget in minutes; checkpoints are written every --ckpt-every seconds and at the end):
  wae       encoder+decoder on normalised log-Mel of augmented, class-balanced batches;
            loss = L1(recon) + lambda * MMD_IMQ(z, N(0, I)).
  mcnn      MCNN on TRUE log-Mel of augmented audio (random half-length crops);
            loss = multi-resolution spectral convergence + log-magnitude L1.
  finetune  MCNN on a 50/50 mix of true log-Mel and WAE reconstructions (full length).
Norm statistics (norm_mean/std of the log-Mel) are computed once from the training split
and stored in checkpoints/norm.json.
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
from data import DrumData, augment, one_hot  # noqa: E402
from model import (AudioConfig, Decoder, Encoder, MCNN, MelFrontEnd, ModelConfig,  # noqa: E402
                   MultiResSTFTLoss, count_params, imq_mmd)

CKPT = os.path.join(HERE, "checkpoints")


def default_configs(args=None):
    a = AudioConfig()
    m = ModelConfig()
    if args is not None:
        m.mcnn_spec_width = args.spec_width
        m.mcnn_spec_blocks = args.spec_blocks
        m.mcnn_heads = args.mcnn_heads
    return a, m


def log(msg: str):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def norm_stats(data: DrumData, a: AudioConfig) -> tuple[float, float]:
    p = os.path.join(CKPT, "norm.json")
    if os.path.exists(p):
        d = json.load(open(p))
        return d["norm_mean"], d["norm_std"]
    fe = MelFrontEnd(a)
    with torch.no_grad():
        lm = torch.cat([fe.logmel(data.wav[i]) for i in
                        torch.split(data.train_real_idx, 64)])
    mean, std = float(lm.mean()), float(lm.std())
    os.makedirs(CKPT, exist_ok=True)
    json.dump(dict(norm_mean=mean, norm_std=std), open(p, "w"))
    return mean, std


def save(path, **kw):
    tmp = path + ".tmp"
    torch.save(kw, tmp)
    os.replace(tmp, path)


def load(path):
    return torch.load(path, map_location="cpu", weights_only=False) if os.path.exists(path) else None


def cosine_lr(step, total, base, warm=200):
    if step < warm:
        return base * (step + 1) / warm
    t = min(1.0, step / max(1, total))
    return base * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * t)))


def train_wae(args, data, a, m, fe):
    path = os.path.join(CKPT, "wae.pt")
    enc, dec = Encoder(a, m), Decoder(a, m)
    enc.front.set_norm(a.norm_mean, a.norm_std)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=args.wae_lr)
    st = load(path)
    step, wall = 0, 0.0
    hist = []
    if st:
        enc.load_state_dict(st["enc"]); dec.load_state_dict(st["dec"]); opt.load_state_dict(st["opt"])
        step, wall, hist = st["step"], st["wall"], st.get("hist", [])
        log(f"wae: resumed at step {step}")
    log(f"wae: enc {count_params(enc)} dec {count_params(dec)} params")
    gen = torch.Generator().manual_seed(1000 + step)
    budget = args.wae_minutes * 60
    t0 = time.time(); last_ck = t0
    est_total = args.wae_total_steps
    acc = dict(rec=0.0, mmd=0.0, n=0)
    enc.train(); dec.train()
    while time.time() - t0 < budget:
        idx = data.sample_indices(args.wae_batch, gen)
        with torch.no_grad():
            x = augment(data.wav[idx], gen)
            mel = fe(x)
        c = one_hot(data.label[idx])
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, est_total, args.wae_lr)
        z = enc.encode_mel(mel, c)
        rec = dec(z, c)
        l_rec = (rec - mel).abs().mean()
        l_mmd = imq_mmd(z, torch.randn(z.shape, generator=gen))
        loss = l_rec + args.mmd_lambda * l_mmd
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step(); step += 1
        acc["rec"] += l_rec.item(); acc["mmd"] += l_mmd.item(); acc["n"] += 1
        if step % 50 == 0:
            r = dict(step=step, rec=acc["rec"] / acc["n"], mmd=acc["mmd"] / acc["n"],
                     lr=opt.param_groups[0]["lr"], wall=wall + time.time() - t0)
            hist.append(r); log(f"wae {r}"); acc = dict(rec=0.0, mmd=0.0, n=0)
        if time.time() - last_ck > args.ckpt_every:
            save(path, enc=enc.state_dict(), dec=dec.state_dict(), opt=opt.state_dict(), step=step,
                 wall=wall + time.time() - t0, hist=hist, a=a.__dict__, m=m.__dict__)
            last_ck = time.time()
    save(path, enc=enc.state_dict(), dec=dec.state_dict(), opt=opt.state_dict(), step=step,
         wall=wall + time.time() - t0, hist=hist, a=a.__dict__, m=m.__dict__)
    log(f"wae: done, step {step}")
    return enc, dec


def mcnn_batch(data, idx, gen, fe, crop_frames, hop):
    with torch.no_grad():
        x = augment(data.wav[idx], gen)
        mel = fe(x)
        if crop_frames and crop_frames < mel.shape[-1]:
            T = mel.shape[-1]
            mels, xs = [], []
            for b in range(x.shape[0]):
                t0 = 0 if torch.rand(1, generator=gen).item() < 0.5 else \
                    int(torch.randint(0, T - crop_frames + 1, (1,), generator=gen))
                mels.append(mel[b, :, t0:t0 + crop_frames])
                xs.append(x[b, t0 * hop:(t0 + crop_frames) * hop])
            mel, x = torch.stack(mels), torch.stack(xs)
    return x, mel


def train_mcnn(args, data, a, m, fe, stage="mcnn", enc=None, dec=None):
    path = os.path.join(CKPT, "mcnn.pt")
    net = MCNN(a, m)
    net.n_samples = 1 << 30  # crops: no output truncation during training
    opt = torch.optim.Adam(net.parameters(), lr=args.mcnn_lr, betas=(0.8, 0.99))
    st = load(path)
    step, wall, hist = 0, 0.0, []
    ft_step = 0
    if st:
        own = net.state_dict()
        sd = {k: v for k, v in st["net"].items() if k in own and own[k].shape == v.shape}
        missing, unexpected = net.load_state_dict(sd, strict=False)
        unexpected = list(unexpected) + [k for k in st["net"] if k not in sd]
        step, wall, hist = st["step"], st["wall"], st.get("hist", [])
        ft_step = st.get("ft_step", 0)
        if missing or unexpected:
            # architecture grew (e.g. the spectral head was added): keep the trained heads,
            # fresh optimiser, restart the lr schedule
            log(f"{stage}: partial resume (missing {len(missing)}, unexpected {len(unexpected)} tensors)")
            hist.append(dict(stage="restart", step=step, note="architecture changed", missing=len(missing)))
            step = 0
        else:
            opt.load_state_dict(st["opt"])
        log(f"{stage}: resumed mcnn at step {step} (finetune steps {ft_step})")
    log(f"{stage}: mcnn {count_params(net)} params")
    loss_fn = MultiResSTFTLoss([int(v) for v in args.stft_ffts.split(",")], per_item=args.sc_per_item)
    gen = torch.Generator().manual_seed(2000 + step)
    budget = (args.mcnn_minutes if stage == "mcnn" else args.finetune_minutes) * 60
    t0 = time.time(); last_ck = t0
    acc = dict(sc=0.0, lm=0.0, n=0)
    net.train()
    if dec is not None:
        enc.eval(); dec.eval()
    while time.time() - t0 < budget:
        if stage == "mcnn":
            idx = data.sample_indices(args.mcnn_batch, gen)
            x, mel = mcnn_batch(data, idx, gen, fe, args.crop_frames, a.hop)
            lr = args.mcnn_const_lr if args.mcnn_const_lr > 0 else \
                cosine_lr(step, args.mcnn_total_steps, args.mcnn_lr)
        else:
            idx = data.sample_indices(args.mcnn_batch // 2, gen)
            with torch.no_grad():
                x = augment(data.wav[idx], gen)
                mel = fe(x)
                c = one_hot(data.label[idx])
                melr = dec(enc.encode_mel(mel, c), c)
                mel = torch.cat([mel, melr]); x = torch.cat([x, x])
            lr = args.finetune_lr
        for g in opt.param_groups:
            g["lr"] = lr
        y = net(mel)
        sc, lm = loss_fn(y, x)
        loss = sc + lm
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step(); step += 1
        if stage != "mcnn":
            ft_step += 1
        acc["sc"] += sc.item(); acc["lm"] += lm.item(); acc["n"] += 1
        if step % 50 == 0:
            r = dict(stage=stage, step=step, sc=acc["sc"] / acc["n"], logmag=acc["lm"] / acc["n"],
                     lr=lr, wall=wall + time.time() - t0)
            hist.append(r); log(f"{stage} {r}"); acc = dict(sc=0.0, lm=0.0, n=0)
        if time.time() - last_ck > args.ckpt_every:
            save(path, net=net.state_dict(), opt=opt.state_dict(), step=step, ft_step=ft_step,
                 wall=wall + time.time() - t0, hist=hist, a=a.__dict__, m=m.__dict__)
            last_ck = time.time()
    save(path, net=net.state_dict(), opt=opt.state_dict(), step=step, ft_step=ft_step,
         wall=wall + time.time() - t0, hist=hist, a=a.__dict__, m=m.__dict__)
    log(f"{stage}: done, step {step}")
    return net


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(HERE, "cache", "dataset.npz"))
    ap.add_argument("--stages", default="wae,mcnn,finetune")
    ap.add_argument("--wae-minutes", type=float, default=12)
    ap.add_argument("--mcnn-minutes", type=float, default=30)
    ap.add_argument("--finetune-minutes", type=float, default=6)
    ap.add_argument("--wae-batch", type=int, default=32)
    ap.add_argument("--wae-lr", type=float, default=1e-3)
    ap.add_argument("--wae-total-steps", type=int, default=2000)
    ap.add_argument("--mmd-lambda", type=float, default=10.0)
    ap.add_argument("--mcnn-batch", type=int, default=8)
    ap.add_argument("--mcnn-lr", type=float, default=1e-3)
    ap.add_argument("--mcnn-total-steps", type=int, default=20000)
    ap.add_argument("--finetune-lr", type=float, default=1e-4)
    ap.add_argument("--mcnn-const-lr", type=float, default=0.0, help=">0: constant lr for the mcnn stage")
    ap.add_argument("--stft-ffts", default="256,512,1024,2048", help="FFT sizes of the STFT loss")
    ap.add_argument("--sc-per-item", action="store_true",
                    help="mean of per-sound spectral convergence (use with --crop-frames 0)")
    ap.add_argument("--crop-frames", type=int, default=43)
    ap.add_argument("--ckpt-every", type=float, default=120)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--spec-width", type=int, default=256,
                    help="width of the MCNN's frame-rate iSTFT head (0: pure transposed-conv MCNN)")
    ap.add_argument("--spec-blocks", type=int, default=3)
    ap.add_argument("--mcnn-heads", type=int, default=0,
                    help="transposed-conv heads of the MCNN (0: spectral head only)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    os.makedirs(CKPT, exist_ok=True)
    data = DrumData(args.data)
    a, m = default_configs(args)
    a.norm_mean, a.norm_std = norm_stats(data, a)
    log(f"data: {len(data.label)} items, train {len(data.train_idx)}, val {len(data.val_idx)}; "
        f"norm {a.norm_mean:.3f} {a.norm_std:.3f}")
    fe = MelFrontEnd(a)
    stages = args.stages.split(",")
    enc = dec = None
    cmd_path = os.path.join(CKPT, "commands.json")
    cmds = json.load(open(cmd_path)) if os.path.exists(cmd_path) else []
    cmds.append(dict(utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), argv=sys.argv, args=vars(args)))
    json.dump(cmds, open(cmd_path, "w"), indent=1)
    if "wae" in stages:
        enc, dec = train_wae(args, data, a, m, fe)
    if "mcnn" in stages:
        train_mcnn(args, data, a, m, fe, "mcnn")
    if "finetune" in stages:
        if dec is None:
            st = load(os.path.join(CKPT, "wae.pt"))
            enc, dec = Encoder(a, m), Decoder(a, m)
            enc.load_state_dict(st["enc"]); dec.load_state_dict(st["dec"])
        train_mcnn(args, data, a, m, fe, "finetune", enc, dec)


if __name__ == "__main__":
    main()
