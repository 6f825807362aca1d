#!/usr/bin/env python3
"""Train a model set on your own folder of drum one-shots and export it for the plugin.

    .venv/bin/python train_library.py ~/Samples/MyKit --minutes 60
    .venv/bin/python train_library.py ~/Samples/All --labels labels.csv --name my-kit --out DIR
    torchrun --nproc_per_node 2 train_library.py ~/Samples/MyKit --minutes 60     # 2 processes

Classes: the sub-folder names (SAMPLES_DIR/<class>/**/*.wav|flac|ogg|aiff|mp3), or a CSV
(``--labels``, columns ``path,class``; paths relative to SAMPLES_DIR or absolute). Any names,
1 to 16 classes. Every file is decoded, made mono, resampled to the contract's rate, onset
aligned and cut/padded to the contract's length (audio_io.prepare_oneshot); files that cannot
be read, are silent, too short, have no/unknown class, or whose class has too few usable files
are rejected. The data-set report is printed and written to MODEL_DIR/dataset_report.json.

Training (train.py's stages wae, mcnn, finetune, with its augmentation and class-balanced
sampling) starts from the shipped model (``--init-from``, default ../assets) where the audio
contract matches: every tensor whose shape does not depend on the class count is reused (the
whole inverter; the WAE except its class inputs), the rest is freshly initialised.
``--minutes`` is the wall-clock budget of the whole model, over all runs: the same command run
again after an interruption resumes from MODEL_DIR/checkpoints and uses what is left of it;
raise it to train longer. Then decoder.pt, mcnn.pt, encoder.pt and model.json (the library's
class names, its name, a training summary) are exported into MODEL_DIR (default
$XDG_DATA_HOME/neural-drum-machine/models/<name>/, i.e. ~/.local/share/...).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import shlex
import signal
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import distributed as D  # noqa: E402
import export  # noqa: E402
import train  # noqa: E402
from audio_io import CONTRACTS, find_onset, prepare_oneshot, read_audio, resample, to_mono  # noqa: E402
from data import DrumData, one_hot  # noqa: E402
from model import MCNN, Decoder, Encoder, audio_config, model_config  # noqa: E402

AUDIO_EXT = (".wav", ".wave", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".aifc", ".caf", ".mp3")
MAX_CLASSES = export.MAX_CLASSES
SHIPPED = os.path.normpath(os.path.join(HERE, "..", "assets"))
# shares of the wall-clock budget: WAE, inverter on true Mels, inverter fine-tune on WAE outputs
SHARES = dict(wae=0.5, mcnn=0.35, finetune=0.15)
STAGE_CKPT = dict(wae="wae.pt", mcnn="mcnn.pt", finetune="mcnn.pt")


def default_models_dir() -> str:
    """``$XDG_DATA_HOME/neural-drum-machine/models`` (default ``~/.local/share/...``): where the
    plugin looks for user models (core/src/catalog.rs)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "neural-drum-machine", "models")


def slug(name: str) -> str:
    """A folder-safe model name: letters, digits, '-', '_' and '.' kept, the rest '-'."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return s or "my-library"


# ------------------------------------------------------------------ data set


def scan_library(root: str, labels_csv: str | None = None, classes: list[str] | None = None):
    """Files and their classes. Returns (items [(abs path, class)], rejected [dict(path,
    reason)]). Folder mode: the first-level sub-folder of ``root`` is the class (files below it
    at any depth); files directly in ``root`` have no class. CSV mode: rows ``path,class``.
    With ``classes`` given, other class names are rejected as unknown."""
    items, rejected = [], []
    root = os.path.abspath(root)

    def add(path, cls):
        rel = os.path.relpath(path, root)
        if not os.path.splitext(path)[1].lower() in AUDIO_EXT:
            rejected.append(dict(path=rel, reason="not an audio file (extension)"))
        elif not cls:
            rejected.append(dict(path=rel, reason="no class (not in a class folder / empty class)"))
        elif classes is not None and cls not in classes:
            rejected.append(dict(path=rel, reason=f"unknown class {cls!r}"))
        elif not os.path.isfile(path):
            rejected.append(dict(path=rel, reason="missing file"))
        else:
            items.append((path, cls))

    if labels_csv:
        with open(labels_csv, newline="") as f:
            for row in csv.DictReader(f):
                p = (row.get("path") or "").strip()
                if not p:
                    continue
                add(p if os.path.isabs(p) else os.path.join(root, p), (row.get("class") or "").strip())
    else:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel = os.path.relpath(dirpath, root)
            cls = "" if rel == "." else rel.split(os.sep)[0]
            for fn in sorted(filenames):
                if not fn.startswith("."):
                    add(os.path.join(dirpath, fn), cls)
    return items, rejected


def build_library(root: str, contract: int, labels_csv: str | None = None,
                  classes: list[str] | None = None, min_per_class: int = 2,
                  silence_db: float = -60.0, min_ms: float = 20.0, val_fraction: float = 0.0):
    """Decode and prepare every one-shot of the library for audio contract ``contract``.

    Returns (arrays, report): arrays = dict(wav [N, n_samples] float32 at the contract's rate,
    label [N] int64, is_val, is_gain_copy [N] bool, row [N], sample_rate, sr_in [N] Hz of the
    source, classes [C] str) in the layout of build_dataset.py's dataset.npz (readable by
    ``data.DrumData``); report = counts per class, rejected files and why. A file is rejected
    when it cannot be decoded, its peak is below ``silence_db`` dBFS, it lasts less than
    ``min_ms`` from its onset, or its class keeps fewer than ``min_per_class`` usable files.
    Raises SystemExit when no class or more than 16 classes remain."""
    c = CONTRACTS[contract]
    sr, n = c["sample_rate"], c["n_frames"] * c["hop"]
    root = os.path.abspath(root)
    items, rejected = scan_library(root, labels_csv, classes)
    ok = []  # (rel, cls, wav, sr_in)
    for path, cls in items:
        rel = os.path.relpath(path, root)
        try:
            x, sr_in = read_audio(path)
        except Exception as e:  # noqa: BLE001
            msg = re.sub(r"Error opening <[^>]*>: ", "", str(e))
            rejected.append(dict(path=rel, reason=f"unreadable: {msg}"[:200]))
            continue
        mono = to_mono(x)
        peak = float(np.abs(mono).max()) if mono.size else 0.0
        if peak < 10 ** (silence_db / 20):
            rejected.append(dict(path=rel, reason=f"silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS)"))
            continue
        y = resample(mono, sr_in, sr)
        dur = (len(y) - find_onset(y, sr)) / sr
        if dur * 1000 < min_ms:
            rejected.append(dict(path=rel, reason=f"too short ({dur * 1000:.1f} ms after the onset)"))
            continue
        w, _ = prepare_oneshot(x, sr_in, n_samples=n, fade_s=c["fade_s"], out_sr=sr)
        ok.append((rel, cls, w, int(sr_in)))
    counts = {}
    for _, cls, _, _ in ok:
        counts[cls] = counts.get(cls, 0) + 1
    few = {k for k, v in counts.items() if v < min_per_class}
    for rel, cls, _, _ in ok:
        if cls in few:
            rejected.append(dict(path=rel, reason=f"too few files in class {cls!r} ({counts[cls]} < {min_per_class})"))
    ok = [o for o in ok if o[1] not in few]
    names = list(classes) if classes else sorted({o[1] for o in ok})
    names = [k for k in names if any(o[1] == k for o in ok)]
    report = dict(library=root, labels=labels_csv, contract=contract, sample_rate=sr, n_samples=n,
                  classes=names, counts={k: sum(o[1] == k for o in ok) for k in names},
                  n_files=len(ok), n_rejected=len(rejected), rejected=rejected,
                  source_rates=dict(sorted({str(r): sum(o[3] == r for o in ok) for r in {o[3] for o in ok}}.items())))
    if not names:
        raise SystemExit(format_report(report) + "\nno usable class: nothing to train on")
    if len(names) > MAX_CLASSES:
        raise SystemExit(format_report(report) + f"\n{len(names)} classes: at most {MAX_CLASSES} are supported")
    label = np.array([names.index(o[1]) for o in ok], dtype=np.int64)
    # optional validation split by a hash of the path (every class keeps min_per_class items)
    is_val = np.array([int(hashlib.sha1(o[0].encode()).hexdigest(), 16) % 1000 < 1000 * val_fraction
                       for o in ok], dtype=bool)
    for ci in range(len(names)):
        sel = np.nonzero(label == ci)[0]
        while (~is_val[sel]).sum() < min_per_class:
            is_val[sel[np.argmax(is_val[sel])]] = False
    report["n_train"], report["n_val"] = int((~is_val).sum()), int(is_val.sum())
    arrays = dict(wav=np.stack([o[2] for o in ok]).astype(np.float32), label=label, is_val=is_val,
                  is_gain_copy=np.zeros(len(ok), dtype=bool), row=np.arange(len(ok)),
                  sample_rate=np.int64(sr), sr_in=np.array([o[3] for o in ok], dtype=np.int64),
                  classes=np.array(names), path=np.array([o[0] for o in ok]))
    report["dataset_sha1"] = hashlib.sha1(arrays["wav"].tobytes()).hexdigest()
    return arrays, report


def format_report(r: dict) -> str:
    """The data-set report as text lines."""
    lines = [f"library {r['library']}: {r['n_files']} usable files, {r['n_rejected']} rejected; "
             f"contract v{r['contract']} ({r['sample_rate']} Hz, {r['n_samples']} samples)"]
    for k in r["classes"]:
        lines.append(f"  class {k:<20} {r['counts'][k]:5d} files")
    for x in r["rejected"]:
        lines.append(f"  rejected {x['path']}: {x['reason']}")
    return "\n".join(lines)


# ------------------------------------------------------------------ init from a model set


def seed_partial(src: str, ckpt: str, a, m) -> dict:
    """Seed ``ckpt``/wae.pt and mcnn.pt (only when missing) from the exported model set in
    ``src``: every tensor of the new modules whose name and shape match the export is copied
    (the inverter entirely; the WAE except the layers fed with the class vector, whose shape
    depends on the class count), the rest keeps its fresh initialisation. Returns counts of
    reused / re-initialised tensors per module."""
    out = {}
    nets = [("wae.pt", [("enc", Encoder(a, m), "encoder.pt"), ("dec", Decoder(a, m), "decoder.pt")]),
            ("mcnn.pt", [("net", MCNN(a, m), "mcnn.pt")])]
    for fname, mods in nets:
        if os.path.exists(os.path.join(ckpt, fname)):
            continue
        sds = {}
        for key, mod, file in mods:
            src_sd = torch.jit.load(os.path.join(src, file)).state_dict()
            own = mod.state_dict()
            hit = {k: src_sd[k].to(own[k].dtype) for k in own if k in src_sd and src_sd[k].shape == own[k].shape}
            own.update(hit)
            mod.load_state_dict(own)
            sds[key] = mod.state_dict()
            out[file] = dict(reused=len(hit), reinitialised=len(own) - len(hit),
                             reinitialised_names=sorted(set(own) - set(hit))[:20])
        meta = dict(step=0, wall=0.0, hist=[dict(stage="seeded", src=src, reuse={f: out[f]["reused"] for _, _, f in mods})],
                    a=a.__dict__, m=m.__dict__)
        if fname == "mcnn.pt":
            meta["ft_step"] = 0
        train.save(os.path.join(ckpt, fname), **sds, **meta)
    return out


def init_source(args, a) -> tuple[str | None, str]:
    """The model set to start from and why: ``--init-from`` (default the shipped assets) when
    its model.json has this audio contract, else None (training from scratch)."""
    src = args.init_from
    if src.lower() in ("none", "", "scratch"):
        return None, "from scratch (--init-from none)"
    if not os.path.exists(os.path.join(src, "model.json")):
        return None, f"from scratch ({src} has no model.json)"
    meta = json.load(open(os.path.join(src, "model.json")))
    want = dict(schema_version=a.version, sample_rate=a.sample_rate, n_fft=a.n_fft, hop=a.hop,
                n_mels=a.n_mels, n_frames=a.n_frames)
    diff = {k: (meta.get(k), v) for k, v in want.items() if meta.get(k) != v}
    if diff:
        return None, f"from scratch ({src} has another audio contract: {diff})"
    return src, f"from {src} ({meta.get('name')})"


# ------------------------------------------------------------------ budget


class Budget:
    """Wall-clock budget of the whole model over all runs, split into stage shares. The time
    each stage has used is kept in ``CKPT/library_state.json`` (rank 0) and reconciled with the
    checkpoints' ``wall`` when a run was killed mid-stage."""

    def __init__(self, ckpt: str, minutes: float):
        self.path = os.path.join(ckpt, "library_state.json")
        self.total = 60.0 * minutes
        st = json.load(open(self.path)) if os.path.exists(self.path) else {}
        self.spent = {**dict(wae=0.0, mcnn=0.0, finetune=0.0), **st.get("spent", {})}
        self.walls = st.get("walls", {})
        self.runs = st.get("runs", [])
        running = st.get("running")
        if running:  # killed during a stage: its checkpoint's wall tells how long it ran
            w = self.wall(STAGE_CKPT[running], ckpt)
            self.spent[running] += max(0.0, w - self.walls.get(STAGE_CKPT[running], 0.0))
        self.ckpt = ckpt

    @staticmethod
    def wall(fname: str, ckpt: str) -> float:
        """Training seconds recorded in checkpoint ``fname`` (0 when absent)."""
        st = train.load(os.path.join(ckpt, fname))
        return float(st["wall"]) if st else 0.0

    def left_s(self, stage: str) -> float:
        """Seconds ``stage`` may still run."""
        return max(0.0, SHARES[stage] * self.total - self.spent[stage])

    def begin(self, stage: str) -> None:
        self.walls[STAGE_CKPT[stage]] = self.wall(STAGE_CKPT[stage], self.ckpt)
        self.write(running=stage)

    def end(self, stage: str) -> None:
        f = STAGE_CKPT[stage]
        w = self.wall(f, self.ckpt)
        self.spent[stage] += max(0.0, w - self.walls.get(f, 0.0))
        self.walls[f] = w
        self.write(running=None)

    def write(self, running) -> None:
        if D.ENV.is_main:
            json.dump(dict(total_s=self.total, spent=self.spent, walls=self.walls, running=running,
                           runs=self.runs), open(self.path, "w"), indent=1)


# ------------------------------------------------------------------ progress


class Progress:
    """tqdm bar of one stage (rank 0): steps when the stage has a step limit, else seconds of
    its budget; the ETA is tqdm's."""

    def __init__(self):
        self.bar = None
        self.t0 = 0.0
        self.by_steps = False
        self.start = 0

    def open(self, stage: str, limit: int, start_step: int, budget_s: float) -> None:
        from tqdm import tqdm
        self.close()
        self.by_steps = limit > 0
        total = max(0, limit - start_step) if self.by_steps else max(1, int(round(budget_s)))
        self.bar = tqdm(total=total, desc=stage, unit="step" if self.by_steps else "s",
                        disable=not D.ENV.is_main, mininterval=1.0, dynamic_ncols=True, file=sys.stderr)
        self.t0, self.start = time.time(), start_step

    def step(self, stage: str, n: int) -> None:
        if self.bar is None:
            return
        if self.by_steps:
            self.bar.update(max(0, n - self.start - self.bar.n))
        else:
            el = int(time.time() - self.t0)
            if el > self.bar.n:
                self.bar.update(min(el, self.bar.total) - self.bar.n)
        self.bar.set_postfix(step=n, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def stage_steps(ckpt: str, stage: str) -> int:
    """Steps of ``stage`` already in its checkpoint."""
    st = train.load(os.path.join(ckpt, STAGE_CKPT[stage]))
    if not st:
        return 0
    if stage == "wae":
        return int(st["step"])
    ft = int(st.get("ft_step", 0))
    return int(st["step"]) - ft if stage == "mcnn" else ft


# ------------------------------------------------------------------ main


def build_parser() -> argparse.ArgumentParser:
    """Command line of train_library.py."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("samples", help="folder of one-shots (SAMPLES/<class>/... or with --labels)")
    ap.add_argument("--labels", default=None, help="CSV with columns path,class instead of sub-folders")
    ap.add_argument("--classes", default=None,
                    help="comma-separated class names, in this order (others are rejected as unknown)")
    ap.add_argument("--name", default=None, help="model name (default: the samples folder's name)")
    ap.add_argument("--out", default=None,
                    help="model directory (default $XDG_DATA_HOME/neural-drum-machine/models/<name>/)")
    ap.add_argument("--ckpt-dir", default=None, help="checkpoints (default OUT/checkpoints)")
    ap.add_argument("--minutes", type=float, default=30.0,
                    help="wall-clock training budget of the model over all runs (stages share it "
                         "50/35/15 %%: WAE, inverter, inverter fine-tune)")
    ap.add_argument("--max-steps", type=int, default=0,
                    help="stop every stage once it has this many steps (0: budget only; for tests)")
    ap.add_argument("--contract", type=int, default=None, choices=(1, 2),
                    help="audio contract (default: the --init-from model's, the shipped one is 1)")
    ap.add_argument("--init-from", default=SHIPPED,
                    help="model set to reuse weights from where the contract matches ('none': scratch)")
    ap.add_argument("--min-per-class", type=int, default=2, help="fewer usable files reject the class")
    ap.add_argument("--silence-db", type=float, default=-60.0, help="peak below this (dBFS) is silent")
    ap.add_argument("--min-ms", type=float, default=20.0, help="shorter sounds (from the onset) are rejected")
    ap.add_argument("--val-fraction", type=float, default=0.0, help="held-out share (by path hash)")
    ap.add_argument("--enc-width", type=int, default=None, help="WAE encoder width (default: the contract's)")
    ap.add_argument("--dec-width", type=int, default=None, help="WAE decoder width")
    ap.add_argument("--spec-width", type=int, default=None, help="inverter width")
    ap.add_argument("--spec-blocks", type=int, default=None, help="inverter ConvNeXt blocks")
    ap.add_argument("--train-args", default="",
                    help="more train.py options, e.g. \"--cls-lambda 0.1 --mcnn-batch 4\"")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--no-timing", action="store_true", help="skip the export's latency measurement")
    train.add_distributed_args(ap, default_device="auto")
    return ap


def main(argv=None):
    ap = build_parser()
    args = ap.parse_args(argv)
    for k in ("wae_max_steps", "mcnn_max_steps", "finetune_max_steps"):
        if args.max_steps and not getattr(args, k):
            setattr(args, k, args.max_steps)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    signal.signal(signal.SIGTERM, train._request_stop)
    signal.signal(signal.SIGINT, train._request_stop)
    env = D.init_distributed(args.device)
    name = args.name or slug(os.path.basename(os.path.abspath(args.samples)))
    out = os.path.abspath(args.out or os.path.join(default_models_dir(), slug(name)))
    ckpt = os.path.abspath(args.ckpt_dir or os.path.join(out, "checkpoints"))
    train.CKPT = ckpt
    t_start = time.time()
    if env.is_main:
        os.makedirs(ckpt, exist_ok=True)
    D.barrier()

    # contract: the init model's (the shipped assets are v1), else 1; --contract overrides
    contract = args.contract
    if contract is None:
        p = os.path.join(args.init_from, "model.json")
        contract = int(json.load(open(p)).get("schema_version", 1)) if os.path.exists(p) else 1
    a = audio_config(contract)
    src, why = init_source(args, a)

    # data set: rank 0 builds it and the report, the others read what it wrote
    data_path = os.path.join(ckpt, "dataset.npz")
    if env.is_main:
        arrays, report = build_library(args.samples, contract, args.labels,
                                       args.classes.split(",") if args.classes else None,
                                       args.min_per_class, args.silence_db, args.min_ms, args.val_fraction)
        old = os.path.join(ckpt, "dataset_report.json")
        if os.path.exists(old):
            prev = json.load(open(old))
            if prev.get("classes") != report["classes"]:
                raise SystemExit(f"{ckpt} holds a model of classes {prev.get('classes')}, the library now "
                                 f"has {report['classes']}: use another --out / --ckpt-dir")
            if prev.get("dataset_sha1") != report["dataset_sha1"]:
                train.log("note: the library changed since the last run; training continues on the new files")
        np.savez(data_path, **arrays)
        report["world_size"] = env.world_size
        os.makedirs(out, exist_ok=True)
        for p in (os.path.join(out, "dataset_report.json"), old):
            json.dump(report, open(p, "w"), indent=1)
        print(format_report(report), flush=True)
    D.barrier()
    data = DrumData(data_path)
    classes = data.classes

    m = model_config(contract, n_classes=len(classes))
    for k, v in (("enc_width", args.enc_width), ("dec_width", args.dec_width),
                 ("mcnn_spec_width", args.spec_width), ("mcnn_spec_blocks", args.spec_blocks)):
        if v is not None:
            setattr(m, k, v)
    if contract == 1:  # the shipped inverter's layout: spectral head only, 256 wide, 2 blocks
        m.mcnn_heads = 0
        m.mcnn_spec_width = args.spec_width or 256
        m.mcnn_spec_blocks = args.spec_blocks or 2
    reuse = {}
    fresh = not os.path.exists(os.path.join(ckpt, "wae.pt"))
    if src is not None and fresh:
        # the reused weights expect the source model's normalisation of the log-Mel
        smeta = json.load(open(os.path.join(src, "model.json")))
        if env.is_main and not os.path.exists(os.path.join(ckpt, "norm.json")):
            json.dump(dict(norm_mean=smeta["mel"]["norm_mean"], norm_std=smeta["mel"]["norm_std"]),
                      open(os.path.join(ckpt, "norm.json"), "w"))
        D.barrier()
    a.norm_mean, a.norm_std = train.norm_stats(data, a)
    if src is not None and fresh and env.is_main:
        reuse = seed_partial(src, ckpt, a, m)
        json.dump(reuse, open(os.path.join(ckpt, "init_reuse.json"), "w"), indent=1)
    D.barrier()
    if os.path.exists(os.path.join(ckpt, "init_reuse.json")):
        reuse = json.load(open(os.path.join(ckpt, "init_reuse.json")))
    train.log(f"model {name!r}: {len(classes)} classes {classes}; weights {why}; "
              f"world size {env.world_size} ({env.backend or 'single process'}, {env.device}); "
              f"checkpoints {ckpt}")

    # train.py's stage arguments: its defaults, the library recipe, then --train-args
    init = src is not None
    recipe = ["--contract", str(contract), "--stages", "wae,mcnn,finetune",
              "--wae-lr", "5e-4" if init else "1e-3",
              "--crop-frames", "0" if contract == 1 else "172", "--sc-per-item",
              "--stft-ffts", "512,1024,2048", "--ckpt-every", "120",
              "--threads", str(args.threads), "--device", args.device]
    if init:
        recipe += ["--mcnn-const-lr", "2e-4"]
    targs = train.build_parser().parse_args(recipe + shlex.split(args.train_args))
    for k in ("wae_max_steps", "mcnn_max_steps", "finetune_max_steps"):
        setattr(targs, k, getattr(args, k))
    targs.spec_width, targs.spec_blocks, targs.mcnn_heads = m.mcnn_spec_width, m.mcnn_spec_blocks, m.mcnn_heads
    targs.ckpt_dir, targs.data = ckpt, data_path

    budget = Budget(ckpt, args.minutes)
    if env.is_main:
        train.log_command(targs, sys.argv)
    prog = Progress()
    train.STEP_HOOK["fn"] = prog.step
    enc = dec = None
    sync = {}
    fe = train.MelFrontEnd(a)
    for stage in ("wae", "mcnn", "finetune"):
        if D.any_rank(train.should_stop()):
            train.STOP["flag"] = True
            train.log(f"stop requested: stage {stage} skipped (run the same command to resume)")
            continue
        left = budget.left_s(stage)
        setattr(targs, f"{stage}_minutes", left / 60)
        limit = getattr(targs, f"{stage}_max_steps")
        done_steps = stage_steps(ckpt, stage)
        train.log(f"{stage}: {done_steps} steps done, {left / 60:.1f} min of its budget left"
                  + (f", step limit {limit}" if limit else ""))
        budget.begin(stage)
        prog.open(stage, limit, done_steps, left)
        if stage == "wae":
            enc, dec = train.train_wae(targs, data, a, m, fe)
            nets = [enc, dec]
        else:
            if stage == "finetune" and dec is None:
                st = train.load(os.path.join(ckpt, "wae.pt"))
                enc, dec = Encoder(a, m), Decoder(a, m)
                enc.load_state_dict(st["enc"]); dec.load_state_dict(st["dec"])
            nets = [train.train_mcnn(targs, data, a, m, fe, stage, enc, dec)]
        prog.close()
        # DDP keeps the replicas identical: check it (max over ranks of |w_rank - w_rank0|)
        div = max(D.param_divergence(n) for n in nets)
        sync[stage] = div
        if env.world_size > 1:
            train.log(f"{stage}: weights of the {env.world_size} ranks differ by at most {div:.2e}")
        budget.end(stage)
    budget.runs.append(dict(utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            world_size=env.world_size, wall_s=round(time.time() - t_start, 1),
                            rank_weight_divergence=sync,
                            stopped=bool(train.STOP["flag"])))
    budget.write(running=None)

    if env.is_main and not train.STOP["flag"]:
        summary = export_library(ckpt, out, name, data, a, reuse, why, env, budget, args)
        print(json.dumps(dict(model=out, classes=classes, world_size=env.world_size,
                              wae_steps=summary["wae"]["steps"], mcnn_steps=summary["mcnn"]["steps"],
                              finetune_steps=summary["mcnn"]["finetune_steps"]), indent=1), flush=True)
    elif env.is_main:
        train.log(f"stopped: checkpoints in {ckpt}; run the same command to resume and export")
    D.cleanup()


def export_library(ckpt: str, out: str, name: str, data: DrumData, a, reuse: dict, why: str,
                   env, budget: Budget, args) -> dict:
    """Export the trained checkpoints in ``ckpt`` into ``out`` (decoder.pt, mcnn.pt, encoder.pt,
    model.json with the library's classes and a training summary). Returns the summary."""
    wae = train.load(os.path.join(ckpt, "wae.pt"))
    mc = train.load(os.path.join(ckpt, "mcnn.pt"))
    from model import AudioConfig, ModelConfig
    aa, m, mm = AudioConfig(**wae["a"]), ModelConfig(**wae["m"]), ModelConfig(**mc["m"])
    enc, dec, mcnn = Encoder(aa, m), Decoder(aa, m), MCNN(aa, mm)
    enc.load_state_dict(wae["enc"]); dec.load_state_dict(wae["dec"]); mcnn.load_state_dict(mc["net"])
    enc.eval(); dec.eval(); mcnn.eval()
    enc.front.set_norm(aa.norm_mean, aa.norm_std)
    idx = data.train_real_idx
    with torch.no_grad():
        codes = torch.cat([enc(data.wav[i], one_hot(data.label[i], data.n_classes)) for i in torch.split(idx, 64)])
    cmds = json.load(open(os.path.join(ckpt, "commands.json"))) if os.path.exists(os.path.join(ckpt, "commands.json")) else []
    report = json.load(open(os.path.join(ckpt, "dataset_report.json")))
    mcnn_hist = [h for h in mc.get("hist", []) if h.get("stage") == "mcnn"]
    ft_hist = [h for h in mc.get("hist", []) if h.get("stage") == "finetune"]
    n_train = int(len(data.train_idx))
    training = dict(
        tool="train_library.py", library=report["library"], counts=report["counts"],
        n_rejected=report["n_rejected"], dataset_sha1=report["dataset_sha1"],
        n_train_items=n_train, n_val_items=int(len(data.val_idx)),
        init=why, reused_tensors={k: v["reused"] for k, v in reuse.items()},
        world_size=env.world_size, backend=env.backend or None, device=env.device,
        budget_minutes=args.minutes, spent_s={k: round(v, 1) for k, v in budget.spent.items()},
        runs=budget.runs,
        commands=[dict(utc=c["utc"], argv=c["argv"], **({"world_size": c["world_size"]} if "world_size" in c else {}))
                  for c in cmds],
        wae=dict(steps=wae["step"], wall_s=round(wae["wall"], 1), batch_per_rank=wae.get("batch"),
                 final=wae["hist"][-1] if wae.get("hist") else None),
        mcnn=dict(steps=mc["step"] - mc.get("ft_step", 0), finetune_steps=mc.get("ft_step", 0),
                  wall_s=round(mc["wall"], 1), final=mcnn_hist[-1] if mcnn_hist else None,
                  final_finetune=ft_hist[-1] if ft_hist else None),
        model_config=dict(m.__dict__, **{k: v for k, v in mc["m"].items() if k.startswith("mcnn_")}),
        exported_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    rep = export.export_models(enc, dec, mcnn, aa, m, codes.numpy(), data.label[idx].numpy(), out, name,
                               training, timing=not args.no_timing, classes=data.classes)
    train.log(f"exported {name!r} to {out}: " + ", ".join(f"{k} {v['bytes'] / 1e6:.1f} MB" for k, v in rep.items()
                                                        if isinstance(v, dict) and "bytes" in v))
    return training


if __name__ == "__main__":
    main()
