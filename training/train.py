#!/usr/bin/env python3
"""Train the conditional WAE and the MCNN inverter on CPU (one thread).

    OMP_NUM_THREADS=1 python train.py --stages wae,mcnn,finetune \
        --wae-minutes 12 --mcnn-minutes 30 --finetune-minutes 6

Stages (each resumes from checkpoints/<stage>.pt when present, and runs for a wall-clock
budget in minutes; checkpoints are written every --ckpt-every seconds and at the end):
  wae       encoder+decoder on normalised log-Mel of augmented, class-balanced batches;
            loss = L1(recon) + lambda * MMD_IMQ(z, N(0, I))
                   [+ cls_lambda * CE(aux(decoder(z_prior, c)), c)].
            With --mmd-per-class K the batch is class-stratified (--mmd-classes classes x K
            items) and the MMD is taken per class (one N(0, I) prior per class, NDM §3).
            With --cls-lambda > 0 an auxiliary class critic (trained on real spectrograms
            only) penalises decoder outputs from the prior that do not sound like their class.
  mcnn      MCNN on TRUE log-Mel of augmented audio (random half-length crops);
            loss = multi-resolution spectral convergence + log-magnitude L1.
  finetune  MCNN on a 50/50 mix of true log-Mel and WAE reconstructions (full length).
Norm statistics (norm_mean/std of the log-Mel) are computed once from the training split
and stored in checkpoints/norm.json.

Several processes (data parallel, DistributedDataParallel) through PyTorch's launcher:
    torchrun --nproc_per_node 2 train.py --stages wae ...
(gloo on CPU, nccl with --device cuda; each rank draws its own reproducible sample stream,
gradients are averaged, rank 0 alone logs and writes checkpoints; see distributed.py and
README "Training on several machines"). Without torchrun nothing changes.
"""
from __future__ import annotations

import argparse
import calendar
import json
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import distributed as D  # noqa: E402
from data import DrumData, augment, one_hot  # noqa: E402
from model import (AudioConfig, AuxMelClassifier, Decoder, Encoder, MCNN, MelFrontEnd,  # noqa: E402
                   ModelConfig, MultiResSTFTLoss, audio_config, band_keep_mask, count_params,
                   imq_mmd, mel_band_centres, model_config, per_class_mmd, phase_losses)

CKPT = os.path.join(HERE, "checkpoints")

# set by SIGTERM / SIGINT (or --stop-at): every stage loop ends at its next step, writes its
# checkpoint and the remaining stages are skipped, so `kill PID` pauses a run cleanly
STOP = {"flag": False, "at": None}


def _request_stop(signum, frame):  # noqa: ARG001
    STOP["flag"] = True
    log(f"signal {signum}: stopping after this step (checkpoint follows)")


def should_stop() -> bool:
    if STOP["at"] is not None and time.time() >= STOP["at"]:
        STOP["flag"] = True
    return STOP["flag"]


def default_configs(args=None):
    version = getattr(args, "contract", 1) if args is not None else 1
    a = audio_config(version)
    m = model_config(version)
    if args is not None:
        if args.spec_width is not None:
            m.mcnn_spec_width = args.spec_width
        if args.spec_blocks is not None:
            m.mcnn_spec_blocks = args.spec_blocks
        if args.mcnn_heads is not None:
            m.mcnn_heads = args.mcnn_heads
    return a, m


def log(msg: str):
    """Timestamped line on stdout (rank 0 only when distributed)."""
    if D.ENV.is_main:
        print(time.strftime("%H:%M:%S"), msg, flush=True)


def norm_stats(data: DrumData, a: AudioConfig) -> tuple[float, float]:
    """(mean, std) of the log-Mel over the real training items, from CKPT/norm.json or computed
    and written there (by rank 0; every rank gets rank 0's numbers)."""
    if not D.ENV.is_main:
        return D.broadcast_object(None)
    p = os.path.join(CKPT, "norm.json")
    if os.path.exists(p):
        d = json.load(open(p))
        return D.broadcast_object((d["norm_mean"], d["norm_std"]))
    fe = MelFrontEnd(a)
    with torch.no_grad():
        lm = torch.cat([fe.logmel(data.wav[i]) for i in
                        torch.split(data.train_real_idx, 64)])
    mean, std = float(lm.mean()), float(lm.std())
    os.makedirs(CKPT, exist_ok=True)
    json.dump(dict(norm_mean=mean, norm_std=std), open(p, "w"))
    return D.broadcast_object((mean, std))


COMPACT = {"on": False}  # --compact-ckpt: optimiser moments stored in bfloat16


def compact_opt_state(sd: dict) -> dict:
    """Copy of an optimiser state dict with its floating-point moment tensors in bfloat16
    (half the bytes; bf16 keeps float32's exponent range, so Adam's exp_avg_sq does not
    underflow). ``Optimizer.load_state_dict`` casts them back to the parameters' float32."""
    out = dict(sd)
    out["state"] = {k: {n: (v.to(torch.bfloat16) if torch.is_tensor(v) and v.is_floating_point()
                            and n != "step" else v) for n, v in st.items()}
                    for k, st in sd["state"].items()}
    return out


def save(path, **kw):
    """torch.save of ``kw`` to ``path`` through a temporary file (atomic); rank 0 only."""
    if not D.ENV.is_main:
        return
    if COMPACT["on"]:
        kw = {k: (compact_opt_state(v) if k.startswith("opt") and isinstance(v, dict) and "state" in v else v)
              for k, v in kw.items()}
    tmp = path + ".tmp"
    torch.save(kw, tmp)
    os.replace(tmp, path)


def load(path):
    return torch.load(path, map_location="cpu", weights_only=False) if os.path.exists(path) else None


def _load_exported(mod: torch.nn.Module, path: str, sd: dict | None = None) -> None:
    """Copy the weights of the TorchScript module at ``path`` (or its already loaded state dict
    ``sd``) into ``mod`` (same names).

    TorchScript state dicts also list non-persistent buffers (window, mel pseudo-inverse), which
    ``mod`` recomputes; those are skipped. Raises ``RuntimeError`` when a tensor of ``mod`` is
    missing or has another shape.
    """
    if sd is None:
        sd = torch.jit.load(path).state_dict()
    own = mod.state_dict()
    missing = [k for k in own if k not in sd or sd[k].shape != own[k].shape]
    if missing:
        raise RuntimeError(f"{path} does not fit {type(mod).__name__}: {missing[:5]} ...")
    mod.load_state_dict({k: sd[k] for k in own})


def exported_inverter_config(sd: dict, m: ModelConfig) -> ModelConfig:
    """A copy of ``m`` with the inverter layout (conv heads, spectral-head width and blocks) of
    an exported inverter, read from the names and shapes of its state dict ``sd``."""
    import copy
    mm = copy.deepcopy(m)
    mm.mcnn_heads = int(sd["alpha"].numel()) if "inp.weight" in sd else 0
    if "spec.inp.weight" in sd:
        mm.mcnn_spec_width = int(sd["spec.inp.weight"].shape[0])
        mm.mcnn_spec_blocks = 1 + max([int(k.split(".")[2]) for k in sd if k.startswith("spec.blocks.")] or [-1])
    else:
        mm.mcnn_spec_width = 0
    return mm


def seed_from_export(src: str, a: AudioConfig, m: ModelConfig) -> list[str]:
    """Seed missing ``checkpoints/wae.pt`` / ``mcnn.pt`` / ``commands.json`` from an exported model.

    A fresh checkout has no checkpoints (they are not committed), but the shipped TorchScript
    modules in ``assets/`` hold the trained weights under the same parameter names. This lets a
    training run continue from the shipped model instead of from scratch. The optimiser state is
    not exported, so resumed runs start with a fresh optimiser (use ``--wae-restart``).

    Args: ``src`` — directory with ``encoder.pt``, ``decoder.pt``, ``mcnn.pt``, ``model.json``.
    Returns the names of the checkpoint files written. Raises ``FileNotFoundError`` when ``src``
    lacks a module, ``RuntimeError`` when the weights do not fit the current configuration.
    """
    meta = json.load(open(os.path.join(src, "model.json")))
    tr = meta.get("training", {})
    written = []
    if not os.path.exists(os.path.join(CKPT, "wae.pt")):
        enc, dec = Encoder(a, m), Decoder(a, m)
        _load_exported(enc, os.path.join(src, "encoder.pt"))
        _load_exported(dec, os.path.join(src, "decoder.pt"))
        w = tr.get("wae", {})
        save(os.path.join(CKPT, "wae.pt"), enc=enc.state_dict(), dec=dec.state_dict(),
             step=int(w.get("steps", 0)), wall=float(w.get("wall_s", 0.0)),
             hist=[dict(stage="seeded", src=src, **w)], a=a.__dict__, m=m.__dict__)
        written.append("wae.pt")
    if not os.path.exists(os.path.join(CKPT, "mcnn.pt")):
        path = os.path.join(src, "mcnn.pt")
        sd = torch.jit.load(path).state_dict()
        m = exported_inverter_config(sd, m)
        net = MCNN(a, m)
        _load_exported(net, path, sd)
        c = tr.get("mcnn", {})
        save(os.path.join(CKPT, "mcnn.pt"), net=net.state_dict(), step=int(c.get("steps", 0)),
             ft_step=int(c.get("finetune_steps", 0)), wall=float(c.get("wall_s", 0.0)),
             hist=[dict(stage="seeded", src=src, **c)], a=a.__dict__, m=m.__dict__)
        written.append("mcnn.pt")
    cmd_path = os.path.join(CKPT, "commands.json")
    if not os.path.exists(cmd_path) and tr.get("commands"):
        json.dump(tr["commands"], open(cmd_path, "w"), indent=1)
        written.append("commands.json")
    return written


def cosine_lr(step, total, base, warm=200):
    if step < warm:
        return base * (step + 1) / warm
    t = min(1.0, step / max(1, total))
    return base * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * t)))


class WAENet(torch.nn.Module):
    """Encoder + decoder as one module for DistributedDataParallel (one forward per step). The
    forward draws from ``gen`` in the order of the original single-process loop (MMD prior,
    then the prior classes and codes), so single-process runs are unchanged."""

    def __init__(self, enc: Encoder, dec: Decoder):
        super().__init__()
        self.enc, self.dec = enc, dec

    def forward(self, mel: torch.Tensor, c: torch.Tensor, lab: torch.Tensor, gen: torch.Generator,
                per_class: bool, n_prior: int, n_classes: int):
        """mel [B, n_mels, T] normalised log-Mel, c [B, C] class weights, lab [B] labels ->
        (z [B, latent], rec [B, n_mels, T], MMD scalar, prior classes [n_prior] or None,
        decoded prior sounds [n_prior, n_mels, T] or None)."""
        z = self.enc.encode_mel(mel, c)
        rec = self.dec(z, c)
        if per_class:
            l_mmd = per_class_mmd(z, lab, gen)
        else:
            l_mmd = imq_mmd(z, torch.randn(z.shape, generator=gen).to(z.device))
        cg = mel_g = None
        if n_prior > 0:
            # class consistency of samples from the prior: every class, z ~ N(0, I)
            cg = torch.randint(0, n_classes, (n_prior,), generator=gen).to(z.device)
            zg = torch.randn(n_prior, z.shape[1], generator=gen).to(z.device)
            mel_g = self.dec(zg, one_hot(cg, n_classes))
        return z, rec, l_mmd, cg, mel_g


def _stage_limit(args, name: str) -> int:
    """--<stage>-max-steps (0: no limit; a total over resumed runs)."""
    return int(getattr(args, f"{name}_max_steps", 0) or 0)


def train_wae(args, data, a, m, fe):
    """The WAE stage: resumes CKPT/wae.pt, trains for ``args.wae_minutes`` (and at most
    ``args.wae_max_steps`` steps in all), checkpoints, returns (encoder, decoder). Under torchrun
    the encoder+decoder and the critic are DDP-wrapped and every rank draws its own batches."""
    path = os.path.join(CKPT, "wae.pt")
    dev = D.ENV.device
    enc, dec = Encoder(a, m), Decoder(a, m)
    aux = AuxMelClassifier(a.n_mels, m.n_classes)
    enc.front.set_norm(a.norm_mean, a.norm_std)
    params = list(enc.parameters()) + list(dec.parameters())
    st = load(path)
    step, wall = 0, 0.0
    hist = []
    restart = False
    if st:
        enc.load_state_dict(st["enc"]); dec.load_state_dict(st["dec"])
        step, wall, hist = st["step"], st["wall"], st.get("hist", [])
        if "aux" in st:
            aux.load_state_dict(st["aux"])
    enc.to(dev); dec.to(dev); aux.to(dev); fe = fe.to(dev)
    opt = torch.optim.Adam(params, lr=args.wae_lr)
    opt_aux = torch.optim.Adam(aux.parameters(), lr=1e-3, weight_decay=1e-4)
    if st:
        if "aux" in st:
            opt_aux.load_state_dict(st["opt_aux"])
        if args.wae_restart:
            # changed objective: keep the weights, fresh optimiser and lr schedule
            hist.append(dict(stage="restart", step=step, note="wae restart", args=vars(args)))
            log(f"wae: restart from the weights of step {step}")
            step = 0
            restart = True
        elif "opt" in st:
            opt.load_state_dict(st["opt"])
            log(f"wae: resumed at step {step}")
        else:
            log(f"wae: resumed at step {step} with a fresh optimiser (seeded checkpoint)")
    log(f"wae: enc {count_params(enc)} dec {count_params(dec)} aux {count_params(aux)} params")
    gen = D.rank_generator(1000 + step)
    if st and not restart:
        D.restore_generator(gen, st)  # resume the data/prior stream where it stopped
    net = D.ddp(WAENet(enc, dec))
    aux_net = D.ddp(aux)
    aux_params = dict(aux.named_parameters())
    budget = args.wae_minutes * 60
    limit = _stage_limit(args, "wae")
    t0 = time.time(); last_ck = t0
    est_total = args.wae_total_steps
    acc = dict(rec=0.0, mmd=0.0, cls=0.0, aux_acc=0.0, n=0)
    enc.train(); dec.train(); aux.train()

    batch = args.mmd_classes * args.mmd_per_class if args.mmd_per_class > 0 else args.wae_batch
    # items from sources below the contract rate (e.g. 22.05 kHz files in a 44.1 kHz set) have
    # an empty top band: it is left out of their reconstruction loss (mel bands whose centre
    # lies above 0.94 * sr_in / 2), so the decoder is never taught a dull top octave
    centres = mel_band_centres(a).to(dev)
    lowpass_p = args.wae_lowpass if args.wae_lowpass is not None else (0.5 if a.version == 1 else 0.0)

    def ckpt():
        gens = D.gather_generator_states(gen)  # collective: every rank calls ckpt()
        extra = dict(gen_ranks=gens) if gens is not None else {}
        save(path, enc=enc.state_dict(), dec=dec.state_dict(), opt=opt.state_dict(),
             aux=aux.state_dict(), opt_aux=opt_aux.state_dict(), step=step, batch=batch,
             wall=wall + time.time() - t0, hist=hist, a=a.__dict__, m=m.__dict__,
             gen=gen.get_state(), **extra)

    while not D.any_rank(time.time() - t0 >= budget or should_stop() or (limit > 0 and step >= limit)):
        if args.mmd_per_class > 0:
            idx = data.sample_stratified(args.mmd_classes, args.mmd_per_class, gen)
        else:
            idx = data.sample_indices(args.wae_batch, gen)
        with torch.no_grad():
            x = augment(data.wav[idx], gen, sr=a.sample_rate, p_lowpass=lowpass_p).to(dev)
            mel = fe(x)
        lab = data.label[idx].to(dev)
        c = one_hot(lab, m.n_classes)
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, est_total, args.wae_lr)
        z, rec, l_mmd, cg, mel_g = net(mel, c, lab, gen, args.mmd_per_class > 0,
                                       len(idx) if args.cls_lambda > 0 else 0, m.n_classes)
        if bool(data.low_rate[idx].any()):
            cut = torch.where(data.low_rate[idx], 0.94 * data.sr_in[idx].float() / 2, float("inf")).to(dev)
            keep = band_keep_mask(centres, cut).expand_as(rec)
            l_rec = ((rec - mel).abs() * keep).sum() / keep.sum()
        else:
            l_rec = (rec - mel).abs().mean()
        loss = l_rec + args.mmd_lambda * l_mmd
        l_cls = torch.zeros(())
        if args.cls_lambda > 0:
            # the critic's own weights get no gradient from this loss (detached copies): it
            # learns from real spectrograms only, below
            l_cls = F.cross_entropy(torch.func.functional_call(
                aux, {k: v.detach() for k, v in aux_params.items()}, (mel_g,)), cg)
            loss = loss + args.cls_lambda * l_cls
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        opt_aux.zero_grad()
        logits = aux_net(mel)
        F.cross_entropy(logits, lab, label_smoothing=0.05).backward()
        opt_aux.step()
        step += 1
        acc["rec"] += l_rec.item(); acc["mmd"] += l_mmd.item(); acc["cls"] += l_cls.item()
        acc["aux_acc"] += (logits.argmax(1) == lab).float().mean().item(); acc["n"] += 1
        if step % 50 == 0:
            n = acc.pop("n")
            r = dict(step=step, **{k: D.mean_over_ranks(v / n) for k, v in acc.items()},
                     lr=opt.param_groups[0]["lr"], wall=wall + time.time() - t0)
            hist.append(r); log(f"wae {r}")
            acc = dict(rec=0.0, mmd=0.0, cls=0.0, aux_acc=0.0, n=0)
        if STEP_HOOK["fn"] is not None:
            STEP_HOOK["fn"]("wae", step)
        if D.any_rank(time.time() - last_ck > args.ckpt_every):
            ckpt(); last_ck = time.time()
    ckpt()
    D.barrier()  # the checkpoint is on disk before any rank reads it
    log(f"wae: done, step {step}")
    return enc, dec


# optional per-step callback fn(stage, step) (train_library.py: progress bar); None = nothing
STEP_HOOK = {"fn": None}


def mcnn_batch(data, idx, gen, fe, crop_frames, hop, sr=22050, device="cpu"):
    """Augmented sounds of ``idx`` and their normalised log-Mels, optionally random crops of
    ``crop_frames`` frames (half of them from the onset): (x [B, n], mel [B, n_mels, T])."""
    with torch.no_grad():
        x = augment(data.wav[idx], gen, sr=sr).to(device)
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


class SpectrumNet(torch.nn.Module):
    """The inverter's spectral head as one DDP-able forward for the phase losses:
    mel [B, n_mels, T] -> (log-magnitude, phase [B, T, bins], waveform [B, T * hop])."""

    def __init__(self, net: MCNN, hop: int):
        super().__init__()
        self.net, self.hop = net, hop

    def forward(self, mel: torch.Tensor):
        logmag, phase = self.net.spec.spectrum(mel)
        y = torch.clamp(self.net.spec.synth(logmag, phase, mel.shape[2] * self.hop), -1.0, 1.0)
        return logmag, phase, y


def train_mcnn(args, data, a, m, fe, stage="mcnn", enc=None, dec=None):
    """The inverter stages: ``stage`` "mcnn" (true Mels of augmented audio) or "finetune" (half
    true Mels, half reconstructions of the WAE ``enc``/``dec``); resumes CKPT/<args.mcnn_ckpt>,
    trains for the stage's minutes / max steps, checkpoints, returns the MCNN (DDP under
    torchrun)."""
    path = os.path.join(CKPT, args.mcnn_ckpt)
    dev = D.ENV.device
    net = MCNN(a, m)
    net.n_samples = 1 << 30  # crops: no output truncation during training
    st = load(path)
    step, wall, hist = 0, 0.0, []
    ft_step = 0
    missing = unexpected = []
    if st:
        own = net.state_dict()
        sd = {k: v for k, v in st["net"].items() if k in own and own[k].shape == v.shape}
        missing, unexpected = net.load_state_dict(sd, strict=False)
        unexpected = list(unexpected) + [k for k in st["net"] if k not in sd]
    net.to(dev); fe = fe.to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=args.mcnn_lr, betas=(0.8, 0.99))
    if st:
        step, wall, hist = st["step"], st["wall"], st.get("hist", [])
        ft_step = st.get("ft_step", 0)
        if missing or unexpected:
            # architecture grew (e.g. the spectral head was added): keep the trained heads,
            # fresh optimiser, restart the lr schedule
            log(f"{stage}: partial resume (missing {len(missing)}, unexpected {len(unexpected)} tensors)")
            hist.append(dict(stage="restart", step=step, note="architecture changed", missing=len(missing)))
            step = 0
        elif "opt" in st:
            opt.load_state_dict(st["opt"])
        log(f"{stage}: resumed mcnn at step {step} (finetune steps {ft_step})")
    log(f"{stage}: mcnn {count_params(net)} params")
    loss_fn = MultiResSTFTLoss([int(v) for v in args.stft_ffts.split(",")], per_item=args.sc_per_item).to(dev)
    gen = D.rank_generator(2000 + step)
    if st and st.get("gen_stage") == stage and not (missing or unexpected):
        D.restore_generator(gen, st)  # same stage resumed: continue its data stream
    budget = (args.mcnn_minutes if stage == "mcnn" else args.finetune_minutes) * 60
    limit = _stage_limit(args, stage)
    t0 = time.time(); last_ck = t0
    acc = dict(sc=0.0, lm=0.0, ph=0.0, n=0)
    use_phase = args.phase_loss > 0
    if use_phase and (net.spec is None or net.use_conv):
        raise SystemExit("--phase-loss needs a spectral-head-only inverter (--mcnn-heads 0)")
    window = torch.hann_window(a.n_fft).to(dev)
    net.train()
    # alpha / scale (and the conv heads in the phase path) may take no part in the loss
    run = D.ddp(SpectrumNet(net, a.hop) if use_phase else net, find_unused=True)
    if dec is not None:
        enc.to(dev).eval(); dec.to(dev).eval()

    def ckpt():
        gens = D.gather_generator_states(gen)  # collective
        extra = dict(gen_ranks=gens) if gens is not None else {}
        save(path, net=net.state_dict(), opt=opt.state_dict(), step=step, ft_step=ft_step,
             wall=wall + time.time() - t0, hist=hist, a=a.__dict__, m=m.__dict__,
             gen=gen.get_state(), gen_stage=stage, **extra)

    def done() -> bool:
        n = (step - ft_step) if stage == "mcnn" else ft_step
        return time.time() - t0 >= budget or should_stop() or (limit > 0 and n >= limit)

    while not D.any_rank(done()):
        if stage == "mcnn":
            idx = data.sample_indices(args.mcnn_batch, gen)
            x, mel = mcnn_batch(data, idx, gen, fe, args.crop_frames, a.hop, a.sample_rate, dev)
            lr = args.mcnn_const_lr if args.mcnn_const_lr > 0 else \
                cosine_lr(step, args.mcnn_total_steps, args.mcnn_lr)
        else:
            idx = data.sample_indices(args.mcnn_batch // 2, gen)
            with torch.no_grad():
                x = augment(data.wav[idx], gen, sr=a.sample_rate).to(dev)
                mel = fe(x)
                c = one_hot(data.label[idx], m.n_classes).to(dev)
                melr = dec(enc.encode_mel(mel, c), c)
                mel = torch.cat([mel, melr]); x = torch.cat([x, x])
            lr = args.finetune_lr
        for g in opt.param_groups:
            g["lr"] = lr
        l_ph = torch.zeros(())
        if use_phase:
            # APNet-style anti-wrapping phase losses against the target's own STFT (same
            # n_fft / hop / framing as the head's iSTFT), magnitude-weighted
            logmag, phase, y = run(mel)
            with torch.no_grad():
                S = torch.stft(x, a.n_fft, a.hop, a.n_fft, window, center=True, pad_mode="reflect",
                               return_complex=True).transpose(1, 2)[:, : mel.shape[2]]
            ip, gd, iaf = phase_losses(phase, torch.angle(S), S.abs())
            l_ph = (ip + gd + iaf) / 3
        else:
            y = run(mel)
        sc, lm = loss_fn(y, x)
        loss = sc + lm + args.phase_loss * l_ph
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step(); step += 1
        if stage != "mcnn":
            ft_step += 1
        acc["sc"] += sc.item(); acc["lm"] += lm.item(); acc["ph"] += l_ph.item(); acc["n"] += 1
        if step % 50 == 0:
            r = dict(stage=stage, step=step, sc=D.mean_over_ranks(acc["sc"] / acc["n"]),
                     logmag=D.mean_over_ranks(acc["lm"] / acc["n"]), lr=lr, wall=wall + time.time() - t0)
            if use_phase:
                r["phase"] = D.mean_over_ranks(acc["ph"] / acc["n"])
            hist.append(r); log(f"{stage} {r}"); acc = dict(sc=0.0, lm=0.0, ph=0.0, n=0)
        if STEP_HOOK["fn"] is not None:
            STEP_HOOK["fn"](stage, ft_step if stage != "mcnn" else step - ft_step)
        if D.any_rank(time.time() - last_ck > args.ckpt_every):
            ckpt()
            last_ck = time.time()
    ckpt()
    D.barrier()
    log(f"{stage}: done, step {step}")
    return net


def build_parser() -> argparse.ArgumentParser:
    """train.py's command line (train_library.py builds its stage arguments with it)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contract", type=int, default=1, choices=(1, 2),
                    help="audio contract / model.json schema_version: 1 = the shipped 22.05 kHz ~1 s "
                         "model, 2 = 44.1 kHz ~2 s full band (model.audio_config / model_config)")
    ap.add_argument("--data", default=None,
                    help="data set (default cache/dataset.npz, contract 2: cache/v2/dataset.npz)")
    ap.add_argument("--ckpt-dir", default=None,
                    help="checkpoint directory (default checkpoints/, contract 2: checkpoints/v2/); "
                         "a run that spans sessions lives in runs/<name>/ (committed)")
    ap.add_argument("--compact-ckpt", action="store_true",
                    help="store optimiser moments in bfloat16 (half the size; for committed runs)")
    ap.add_argument("--stop-at", default="",
                    help="UTC wall time HH:MM at which every stage stops and checkpoints (a pause)")
    ap.add_argument("--wae-lowpass", type=float, default=None,
                    help="probability that a filtered WAE item is low-passed instead of tilted "
                         "(default 0.5 for contract 1, 0 for contract 2)")
    ap.add_argument("--stages", default="wae,mcnn,finetune")
    ap.add_argument("--wae-minutes", type=float, default=12)
    ap.add_argument("--mcnn-minutes", type=float, default=30)
    ap.add_argument("--finetune-minutes", type=float, default=6)
    ap.add_argument("--wae-batch", type=int, default=32)
    ap.add_argument("--wae-lr", type=float, default=1e-3)
    ap.add_argument("--wae-total-steps", type=int, default=2000)
    ap.add_argument("--mmd-lambda", type=float, default=10.0)
    ap.add_argument("--mmd-per-class", type=int, default=8,
                    help="class-stratified batches with this many items per class, MMD per class "
                         "(0: batches of --wae-batch, one MMD over the batch, as in the first model)")
    ap.add_argument("--mmd-classes", type=int, default=6, help="classes per stratified batch")
    ap.add_argument("--cls-lambda", type=float, default=0.05,
                    help="weight of the auxiliary class-consistency loss on prior samples")
    ap.add_argument("--wae-restart", action="store_true",
                    help="resume the WAE weights only: fresh optimiser and lr schedule")
    ap.add_argument("--mcnn-batch", type=int, default=8)
    ap.add_argument("--mcnn-lr", type=float, default=1e-3)
    ap.add_argument("--mcnn-total-steps", type=int, default=20000)
    ap.add_argument("--finetune-lr", type=float, default=1e-4)
    ap.add_argument("--mcnn-const-lr", type=float, default=0.0, help=">0: constant lr for the mcnn stage")
    ap.add_argument("--stft-ffts", default="256,512,1024,2048", help="FFT sizes of the STFT loss")
    ap.add_argument("--sc-per-item", action="store_true",
                    help="mean of per-sound spectral convergence (use with --crop-frames 0)")
    ap.add_argument("--crop-frames", type=int, default=43)
    ap.add_argument("--phase-loss", type=float, default=0.0,
                    help="weight of the anti-wrapping phase losses (instantaneous phase, group delay, "
                         "instantaneous frequency; APNet) of the spectral head against the target STFT")
    ap.add_argument("--ckpt-every", type=float, default=120)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--spec-width", type=int, default=None,
                    help="width of the MCNN's frame-rate iSTFT head (0: pure transposed-conv MCNN; "
                         "default 256 for both contracts)")
    ap.add_argument("--spec-blocks", type=int, default=None,
                    help="ConvNeXt blocks of the spectral head (default 2 = the shipped inverter; "
                         "contract 2: 3)")
    ap.add_argument("--mcnn-ckpt", default="mcnn.pt",
                    help="checkpoint file name of the inverter under checkpoints/ (ablations use others)")
    ap.add_argument("--mcnn-heads", type=int, default=None,
                    help="transposed-conv heads of the MCNN (default 0: spectral head only)")
    ap.add_argument("--init-from", default="",
                    help="exported model directory (e.g. ../assets) to seed missing checkpoints from")
    add_distributed_args(ap)
    return ap


def main():
    ap = build_parser()
    args = ap.parse_args()
    if args.mmd_per_class == 1:
        ap.error("--mmd-per-class needs at least 2 sounds per class (an MMD of one sample is undefined)")
    global CKPT
    if args.ckpt_dir:
        CKPT = os.path.abspath(args.ckpt_dir)
    elif args.contract != 1:
        CKPT = os.path.join(HERE, "checkpoints", f"v{args.contract}")
    if args.data is None:
        args.data = os.path.join(HERE, "cache", "dataset.npz" if args.contract == 1 else
                                 f"v{args.contract}/dataset.npz")
    COMPACT["on"] = args.compact_ckpt
    if args.stop_at:
        hh, mm = (int(v) for v in args.stop_at.split(":"))
        now = time.gmtime()
        at = calendar.timegm((now.tm_year, now.tm_mon, now.tm_mday, hh, mm, 0, 0, 0, 0))
        STOP["at"] = at if at > time.time() else at + 86400
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    env = D.init_distributed(args.device)
    if env.world_size > 1:
        log(f"distributed: world size {env.world_size}, backend {env.backend}, device {env.device} "
            f"(per-rank batches; rank 0 writes checkpoints)")
    os.makedirs(CKPT, exist_ok=True)
    data = DrumData(args.data)
    a, m = default_configs(args)
    if data.sample_rate != a.sample_rate or data.wav.shape[1] != a.n_samples:
        ap.error(f"{args.data}: {data.sample_rate} Hz x {data.wav.shape[1]} samples does not fit contract "
                 f"{args.contract} ({a.sample_rate} Hz x {a.n_samples}); build it with "
                 f"build_dataset.py --contract {args.contract}")
    a.norm_mean, a.norm_std = norm_stats(data, a)
    log(f"data: {len(data.label)} items, train {len(data.train_idx)}, val {len(data.val_idx)}; "
        f"norm {a.norm_mean:.3f} {a.norm_std:.3f}")
    log(f"contract v{a.version}: {a.sample_rate} Hz, n_fft {a.n_fft}, hop {a.hop}, n_mels {a.n_mels}, "
        f"{a.n_frames} frames; checkpoints in {CKPT}; low-rate items {int(data.low_rate.sum())}")
    if args.init_from and env.is_main:
        log(f"seeded from {args.init_from}: {seed_from_export(args.init_from, a, m) or 'nothing missing'}")
    D.barrier()  # seeded checkpoints are on disk before any rank loads them
    stages = args.stages.split(",")
    unknown = [s_ for s_ in stages if s_ not in ("wae", "mcnn", "finetune")]
    if unknown:
        ap.error(f"unknown stages {unknown}")
    if env.is_main:
        log_command(args, sys.argv)
    run_stages(args, data, a, m, stages)
    D.cleanup()


def add_distributed_args(ap: argparse.ArgumentParser, default_device: str = "cpu") -> None:
    """--device and the per-stage step limits (shared by train.py and train_library.py)."""
    ap.add_argument("--device", default=default_device, choices=("cpu", "cuda", "auto"),
                    help="where to train (cuda: one GPU per torchrun process, nccl backend; "
                         "cpu: gloo backend when launched by torchrun)")
    for st_ in ("wae", "mcnn", "finetune"):
        ap.add_argument(f"--{st_}-max-steps", type=int, default=0,
                        help=f"stop the {st_} stage once its checkpoint holds this many steps (0: no limit)")


def log_command(args, argv: list[str]) -> None:
    """Append this invocation to CKPT/commands.json (rank 0 only)."""
    if not D.ENV.is_main:
        return
    cmd_path = os.path.join(CKPT, "commands.json")
    cmds = json.load(open(cmd_path)) if os.path.exists(cmd_path) else []
    entry = dict(utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), argv=argv, args=vars(args))
    if D.ENV.world_size > 1:
        entry["world_size"] = D.ENV.world_size
    cmds.append(entry)
    json.dump(cmds, open(cmd_path, "w"), indent=1)


def run_stages(args, data, a: AudioConfig, m: ModelConfig, stages: list[str]) -> None:
    """Run ``stages`` (wae / mcnn / finetune) in the order given, each resuming from CKPT;
    a stop request (signal, --stop-at) skips the remaining ones."""
    fe = MelFrontEnd(a)
    enc = dec = None
    for stage in stages:  # in the order given (e.g. mcnn,wae)
        if D.any_rank(should_stop()):
            STOP["flag"] = True
            log(f"stop requested: stage {stage} skipped")
            continue
        if stage == "wae":
            enc, dec = train_wae(args, data, a, m, fe)
        elif stage == "mcnn":
            train_mcnn(args, data, a, m, fe, "mcnn")
        else:
            if dec is None:
                st = load(os.path.join(CKPT, "wae.pt"))
                enc, dec = Encoder(a, m), Decoder(a, m)
                enc.load_state_dict(st["enc"]); dec.load_state_dict(st["dec"])
            train_mcnn(args, data, a, m, fe, "finetune", enc, dec)


if __name__ == "__main__":
    main()
