#!/usr/bin/env python3
"""Export the trained models to TorchScript + model.json (the model contract of DESIGN.md).

    OMP_NUM_THREADS=1 python export.py [--out ../assets] [--name ndm-default]

Writes decoder.pt, mcnn.pt, encoder.pt, model.json. Every module is scripted (traced as a
fallback) in eval mode, float32, CPU; saved, reloaded, test-run; shapes are checked against
model.json and outputs compared with the eager module (max abs diff); model.json is validated
against model_schema.json. Also measures decoder+mcnn latency on one thread.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import CLASSES, AudioConfig, Decoder, Encoder, MCNN, ModelConfig  # noqa: E402

SCHEMA = os.path.join(HERE, "model_schema.json")
N_PCA = 4


def pca(codes: np.ndarray, k: int = N_PCA) -> dict:
    codes = np.asarray(codes, dtype=np.float64)
    mean = codes.mean(0)
    X = codes - mean
    if len(codes) >= 2:
        _, s, vt = np.linalg.svd(X, full_matrices=False)
        comps = vt
        std = s / np.sqrt(max(1, len(codes) - 1))
    else:
        comps = np.eye(codes.shape[1])
        std = np.zeros(codes.shape[1])
    # pad (few codes) with orthonormal directions of zero variance
    if comps.shape[0] < k:
        extra = np.linalg.qr(np.concatenate([comps.T, np.eye(codes.shape[1])], 1))[0].T
        comps = extra[:k]
        std = np.concatenate([std, np.zeros(k - len(std))])
    comps = comps[:k]
    # deterministic sign: largest-magnitude entry positive
    for i in range(k):
        j = int(np.argmax(np.abs(comps[i])))
        if comps[i, j] < 0:
            comps[i] = -comps[i]
    comps = comps / np.linalg.norm(comps, axis=1, keepdims=True)
    # pad centre: the code nearest to the mean. In 64 dimensions the mean of Gaussian codes lies
    # far inside the shell where codes live (|z| ~ 8), and the decoder renders it as a blurred
    # average that for varied classes (hand drums, metal/shakers) is not recognisable as the class
    centre = codes[int(np.argmin(np.linalg.norm(codes - mean, axis=1)))]
    return dict(mean=[float(v) for v in mean], centre=[float(v) for v in centre],
                components=[[float(v) for v in r] for r in comps], std=[float(v) for v in std[:k]])


def latent_stats(codes: np.ndarray, labels: np.ndarray, classes=CLASSES) -> dict:
    """PCA of the training codes [N, latent] overall and per class (labels [N] index
    ``classes``; a class without codes gets the global PCA)."""
    per = {}
    for i, c in enumerate(classes):
        sel = codes[labels == i]
        per[c] = pca(sel if len(sel) else codes)
    return dict(global_=pca(codes), per_class=per)


MAX_CLASSES = 16  # ndm-core's fixed class-weight vector (core/src/meta.rs MAX_CLASSES)


def make_meta(a: AudioConfig, m: ModelConfig, codes, labels, name: str, training: dict | None,
              classes: list[str] | None = None) -> dict:
    """model.json content: contract numbers of ``a``, latent size of ``m``, PCA control axes of
    the training ``codes`` [N, latent] with ``labels`` [N], class names ``classes`` (label
    order; default the shipped ``model.CLASSES``), optional ``training`` provenance."""
    classes = list(CLASSES if classes is None else classes)
    if len(classes) != m.n_classes:
        raise ValueError(f"{len(classes)} class names for a model of {m.n_classes} classes")
    ls = latent_stats(codes, labels, classes)
    meta = dict(schema_version=int(getattr(a, "version", 1)), name=name, sample_rate=a.sample_rate,
                n_fft=a.n_fft, hop=a.hop,
                n_mels=a.n_mels, n_frames=a.n_frames, n_samples=a.n_samples,
                latent_dim=m.latent_dim, classes=classes,
                mel=dict(f_min=a.f_min, f_max=a.f_max, log_floor=a.log_floor,
                         norm_mean=a.norm_mean, norm_std=a.norm_std),
                latent={"global": ls["global_"], "per_class": ls["per_class"]})
    if meta["schema_version"] >= 2:
        from audio_io import CONTRACTS
        meta["end_fade_s"] = float(CONTRACTS[2]["fade_s"])
    if training is not None:
        meta["training"] = training
    return meta


def validate_meta(meta: dict, schema_path: str = SCHEMA) -> None:
    import jsonschema
    schema = json.load(open(schema_path))
    jsonschema.validate(meta, schema)
    # contract checks beyond the schema
    assert meta["n_samples"] == meta["n_frames"] * meta["hop"], "n_samples != n_frames*hop"
    if meta["schema_version"] >= 2:  # contract v2: full band, at least 1.5 s, hop <= ~6 ms
        assert meta["n_samples"] >= 1.5 * meta["sample_rate"], "v2 sounds are at least 1.5 s long"
        assert meta["hop"] <= 0.0061 * meta["sample_rate"], "v2 hop is at most ~6 ms"
        assert meta["mel"]["f_max"] >= 0.99 * meta["sample_rate"] / 2, "v2 mel covers the full band"
    d = meta["latent_dim"]
    for p in [meta["latent"]["global"], *meta["latent"]["per_class"].values()]:
        assert len(p["mean"]) == d and all(len(c) == d for c in p["components"])
        assert len(p.get("centre", p["mean"])) == d
        assert len(p["std"]) == len(p["components"])
    assert set(meta["latent"]["per_class"]) == set(meta["classes"])
    assert 1 <= len(meta["classes"]) <= MAX_CLASSES, f"1..{MAX_CLASSES} classes"


def to_script(mod: torch.nn.Module, example: tuple):
    mod = mod.eval()
    try:
        s = torch.jit.script(mod)
        with torch.no_grad():
            s(*example)
        return s, "script"
    except Exception as e:  # noqa: BLE001
        print(f"script failed for {type(mod).__name__} ({e!r}); tracing", file=sys.stderr)
        with torch.no_grad():
            return torch.jit.trace(mod, example, check_trace=False), "trace"


def time_decoder_mcnn(dec_path: str, mcnn_path: str, n_classes: int, latent_dim: int, n: int = 50) -> dict:
    """Load + warm-up time and per-call latency of decoder+mcnn at B=1 (current thread count)."""
    t0 = time.perf_counter()
    dec = torch.jit.load(dec_path).eval()
    mc = torch.jit.load(mcnn_path).eval()
    z = torch.zeros(1, latent_dim)
    c = torch.zeros(1, n_classes); c[0, 0] = 1.0
    with torch.no_grad():
        for _ in range(3):
            mc(dec(z, c))
    t_load = time.perf_counter() - t0
    ts_dec, ts_all = [], []
    with torch.no_grad():
        for i in range(n):
            z = torch.randn(1, latent_dim)
            t1 = time.perf_counter()
            mel = dec(z, c)
            t2 = time.perf_counter()
            mc(mel)
            t3 = time.perf_counter()
            ts_dec.append(t2 - t1); ts_all.append(t3 - t1)
    return dict(threads=torch.get_num_threads(), load_warmup_ms=1000 * t_load,
                decoder_ms_median=1000 * float(np.median(ts_dec)),
                decoder_mcnn_ms_median=1000 * float(np.median(ts_all)),
                decoder_mcnn_ms_p90=1000 * float(np.percentile(ts_all, 90)))


def export_models(enc: Encoder, dec: Decoder, mcnn: MCNN, a: AudioConfig, m: ModelConfig,
                  codes: np.ndarray, labels: np.ndarray, out: str, name: str = "ndm",
                  training: dict | None = None, tol: float = 1e-4, timing: bool = True,
                  classes: list[str] | None = None) -> dict:
    """Script/trace, save, reload and check decoder.pt / mcnn.pt / encoder.pt and write
    model.json into ``out``. ``codes`` [N, latent] / ``labels`` [N]: training codes for the PCA
    axes; ``classes``: class names in label order (default ``model.CLASSES``; their count must
    be ``m.n_classes``). Returns the per-module report (how, max abs diff, bytes, params)."""
    os.makedirs(out, exist_ok=True)
    enc.eval(); dec.eval()
    # the exported inverter runs its GEMMs in bfloat16 (~1.5x faster per sound on one thread,
    # spectral convergence unchanged to 1e-4 on the validation set); the caller's copy stays fp32
    mcnn = copy.deepcopy(mcnn).eval()
    mcnn.to_inference_bf16()
    mcnn.n_samples = a.n_samples
    C, D = m.n_classes, m.latent_dim
    g = torch.Generator().manual_seed(0)
    z = torch.randn(2, D, generator=g)
    c = torch.zeros(2, C); c[0, 0] = 1.0
    if C >= 3:
        c[1, 1] = 0.5; c[1, 2] = 0.5
    else:
        c[1] = 1.0 / C
    mel = torch.randn(2, a.n_mels, a.n_frames, generator=g)
    wav = 0.1 * torch.randn(2, a.n_samples, generator=g)
    meta = make_meta(a, m, codes, labels, name, training, classes)
    validate_meta(meta)
    report = {}
    for fname, mod, ex, shape in [
            ("decoder.pt", dec, (z, c), (2, meta["n_mels"], meta["n_frames"])),
            ("mcnn.pt", mcnn, (mel,), (2, meta["n_samples"])),
            ("encoder.pt", enc, (wav, c), (2, meta["latent_dim"]))]:
        sm, how = to_script(mod, ex)
        if fname == "mcnn.pt" and how != "script":
            raise RuntimeError("mcnn.pt must be scripted: a traced inverter ignores set_gemm_bf16")
        path = os.path.join(out, fname)
        torch.jit.save(sm, path)
        re = torch.jit.load(path).eval()
        with torch.no_grad():
            ref = mod(*ex)
            got = re(*ex)
            got1 = re(*[e[:1] for e in ex])
        assert tuple(got.shape) == shape, (fname, tuple(got.shape), shape)
        assert tuple(got1.shape) == (1,) + shape[1:], (fname, tuple(got1.shape))
        assert got.dtype == torch.float32
        diff = float((ref - got).abs().max())
        assert diff <= tol, f"{fname}: max abs diff {diff}"
        report[fname] = dict(how=how, max_abs_diff=diff, bytes=os.path.getsize(path),
                             params=int(sum(p.numel() for p in mod.parameters())))
    if timing:
        report["timing_1thread"] = time_decoder_mcnn(os.path.join(out, "decoder.pt"),
                                                     os.path.join(out, "mcnn.pt"), C, D)
    if training is not None:
        meta["training"] = dict(training, export=report)
    validate_meta(meta)
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return report


def load_trained(ckpt_dir: str):
    from train import CKPT  # noqa: F401
    wae = torch.load(os.path.join(ckpt_dir, "wae.pt"), map_location="cpu", weights_only=False)
    mc = torch.load(os.path.join(ckpt_dir, "mcnn.pt"), map_location="cpu", weights_only=False)
    a = AudioConfig(**wae["a"])
    m = ModelConfig(**wae["m"])
    mm = ModelConfig(**mc["m"])
    enc, dec, mcnn = Encoder(a, m), Decoder(a, m), MCNN(a, mm)
    enc.load_state_dict(wae["enc"]); dec.load_state_dict(wae["dec"]); mcnn.load_state_dict(mc["net"])
    enc.eval(); dec.eval(); mcnn.eval()
    return enc, dec, mcnn, a, m, wae, mc


def training_codes(enc: Encoder, data_path: str):
    from data import DrumData, one_hot
    data = DrumData(data_path)
    idx = data.train_real_idx
    with torch.no_grad():
        codes = torch.cat([enc(data.wav[i], one_hot(data.label[i], data.n_classes))
                           for i in torch.split(idx, 64)])
    return codes.numpy(), data.label[idx].numpy(), data


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", default=os.path.join(HERE, "checkpoints"))
    ap.add_argument("--data", default=os.path.join(HERE, "cache", "dataset.npz"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "assets"))
    ap.add_argument("--name", default="ndm-default")
    a_ = ap.parse_args()
    torch.set_num_threads(1)
    enc, dec, mcnn, a, m, wae, mc = load_trained(a_.ckpt)
    codes, labels, data = training_codes(enc, a_.data)
    cmds = []
    p = os.path.join(a_.ckpt, "commands.json")
    if os.path.exists(p):
        cmds = json.load(open(p))
    n_train = int(len(data.train_idx))
    mcnn_hist = [h for h in mc.get("hist", []) if h.get("stage") == "mcnn"]
    ft_hist = [h for h in mc.get("hist", []) if h.get("stage") == "finetune"]
    training = dict(
        command=" ; ".join(f"{c['utc']}: OMP_NUM_THREADS=1 python {' '.join(c['argv'])}" for c in cmds) or None,
        commands=[dict(utc=c["utc"], argv=c["argv"]) for c in cmds],
        dataset_sha1=hashlib.sha1(data.wav.numpy().tobytes()).hexdigest(),
        n_train_items=n_train, n_val_items=int(len(data.val_idx)),
        wae=dict(steps=wae["step"], wall_s=round(wae["wall"], 1),
                 batch=wae.get("batch", 32), epochs=round(wae["step"] * wae.get("batch", 32) / n_train, 1),
                 final=wae["hist"][-1] if wae.get("hist") else None),
        mcnn=dict(steps=mc["step"], finetune_steps=mc.get("ft_step", 0), wall_s=round(mc["wall"], 1),
                  final=mcnn_hist[-1] if mcnn_hist else None,
                  final_finetune=ft_hist[-1] if ft_hist else None),
        model_config=dict(m.__dict__, **{k: v for k, v in mc["m"].items() if k.startswith("mcnn_")}),
        exported_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    rep = export_models(enc, dec, mcnn, a, m, codes, labels, a_.out, a_.name, training,
                        classes=data.classes)
    total = sum(os.path.getsize(os.path.join(a_.out, f)) for f in os.listdir(a_.out))
    print(json.dumps(rep, indent=1))
    print(f"assets total {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
