#!/usr/bin/env python3
"""Build the training data set from the installed packages listed in drum_labels.csv.

    python build_dataset.py [--install] [--contract 1|2] [--labels drum_labels.csv] [--out ...]

--install  apt-get install the Debian packages (hydrogen-drumkits, hydrogen-data,
           avldrums.lv2-soundfont, lmms-common), extract exadrums with
           `apt-get download` + `dpkg -x` into cache/pkgs/exadrums, and `npm pack`
           supersonic-scsynth-samples@0.84.2 into cache/pkgs/npm.

--contract 1 (default): 22 050 Hz, 22 016 samples, 250 ms fade-out -> cache/dataset.npz.
--contract 2: 44 100 Hz, 88 064 samples (~2 s), 50 ms end fade -> cache/v2/dataset.npz
           (a separate cache: the v1 set stays where it is).

Only rows with use in {train, gain_copy} are read (gain copies = velocity augmentation).
Each file is decoded, mixed to mono, resampled to the contract's rate, onset-aligned,
trimmed/padded to the contract's length with a fade-out. Output: dataset.npz (wav [n, N]
float32, class index, split, row index, recording_group, use, source rate) and manifest.csv.
Sources whose own rate is below the contract's rate are flagged (`low_rate`, `sr_in`): they
have no content above sr_in/2 and the training down-weights them / masks that band
(see train.py). Deterministic.
"""
from __future__ import annotations

import argparse
import csv
import glob
import hashlib
import json
import os
import subprocess
import sys
import tarfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from audio_io import CONTRACTS, SF2, contract_n_samples, prepare_oneshot, read_audio  # noqa: E402

CLASSES = ["kick", "snare", "clap", "hihat_closed", "hihat_open", "tom", "crash", "ride",
           "rim", "hand_drum", "metal_shaker"]
APT_PACKAGES = ["hydrogen-drumkits", "hydrogen-data", "avldrums.lv2-soundfont", "lmms-common"]
EXADRUMS = "exadrums"
NPM_PACKAGE = "supersonic-scsynth-samples@0.84.2"
GLEN_KITS = ("BlackPearl", "Black Pearl", "RedZeppelin", "Red Zeppelin", "GimmeAHand",
             "Gimme A Hand", "GMRockKit")
VAL_FRACTION = 0.15


def install(cache: str) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", *APT_PACKAGES], check=True, env=env)
    exa = os.path.join(cache, "pkgs", "exadrums")
    if not os.path.isdir(os.path.join(exa, "usr")):
        os.makedirs(exa, exist_ok=True)
        subprocess.run(["apt-get", "download", EXADRUMS], check=True, cwd=exa, env=env)
        debs = sorted(glob.glob(os.path.join(exa, "exadrums_*.deb")))
        subprocess.run(["dpkg", "-x", debs[-1], exa], check=True)
    npm = os.path.join(cache, "pkgs", "npm")
    if not os.path.isdir(os.path.join(npm, "package")):
        os.makedirs(npm, exist_ok=True)
        subprocess.run(["npm", "pack", NPM_PACKAGE], check=True, cwd=npm)
        tgz = sorted(glob.glob(os.path.join(npm, "*.tgz")))[-1]
        with tarfile.open(tgz) as t:
            t.extractall(npm)


def resolve_path(row: dict, cache: str) -> str:
    p = row["path"].split("#")[0]
    if row["registry"] == "npm":
        return os.path.join(cache, "pkgs", "npm", p)
    if row["package"] == EXADRUMS:
        return os.path.join(cache, "pkgs", "exadrums", p.lstrip("/"))
    return p


def is_glen(row: dict) -> bool:
    k = row["kit"]
    return "Glen MacArthur" in row["author"] or any(g in k for g in GLEN_KITS)


def split_of(group: str, glen: bool) -> str:
    """Deterministic split by recording_group; Glen MacArthur kits always train."""
    if glen:
        return "train"
    h = int(hashlib.sha1(f"ndm-split-{group}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if h < VAL_FRACTION else "train"


def load_row(row: dict, cache: str, sf2_cache: dict) -> tuple[np.ndarray, int]:
    path = resolve_path(row, cache)
    if "#sample" in row["path"]:
        idx = int(row["path"].split("#sample")[1])
        if path not in sf2_cache:
            sf2_cache[path] = SF2(path)
        sf = sf2_cache[path]
        if row["sample"] and sf.headers[idx]["name"] != row["sample"]:
            raise ValueError(f"{path}#{idx}: name {sf.headers[idx]['name']!r} != {row['sample']!r}")
        x, sr = sf.sample(idx)
        j = sf.stereo_partner(idx)
        if j is not None:
            y, _ = sf.sample(j)
            x = 0.5 * (x + y)
        return x, sr
    x, sr = read_audio(path)
    return x, sr


def read_rows(labels: str) -> list[dict]:
    with open(labels, newline="") as f:
        rows = list(csv.DictReader(f))
    for i, r in enumerate(rows):
        r["_row"] = i
    return [r for r in rows if r["use"] in ("train", "gain_copy")]


def build(labels: str, cache: str, out: str, manifest: str, strict: bool = True,
          contract: int = 1) -> dict:
    cfg = CONTRACTS[contract]
    sample_rate, n_samples = cfg["sample_rate"], contract_n_samples(contract)
    rows = read_rows(labels)
    # a group that contains a Glen MacArthur row is kept on the train side as a whole
    glen_groups = {r["recording_group"] for r in rows if is_glen(r)}
    sf2_cache: dict = {}
    wavs, meta, failures = [], [], []
    for r in rows:
        try:
            x, sr = load_row(r, cache, sf2_cache)
            y, info = prepare_oneshot(x, sr, n_samples=n_samples, fade_s=cfg["fade_s"],
                                      out_sr=sample_rate)
        except Exception as e:  # noqa: BLE001
            failures.append((r["_row"], r["path"], repr(e)))
            continue
        if not np.isfinite(y).all() or np.abs(y).max() < 1e-4:
            failures.append((r["_row"], r["path"], "silent or non-finite"))
            continue
        g = r["recording_group"]
        meta.append(dict(row=r["_row"], path=r["path"], sample=r["sample"], kit=r["kit"],
                         use=r["use"], drum_class=r["drum_class"],
                         class_index=CLASSES.index(r["drum_class"]), recording_group=g,
                         split=split_of(g, g in glen_groups), sr_in=sr,
                         low_rate=int(sr < sample_rate),
                         length=info["length"], truncated=int(info["truncated"]),
                         peak=round(info["peak"], 5), layer=r["layer"], n_layers=r["n_layers"]))
        wavs.append(y)
    if failures:
        for f in failures:
            print("FAILED", *f, file=sys.stderr)
        if strict:
            raise SystemExit(f"{len(failures)} rows failed")
    wav = np.stack(wavs).astype(np.float32)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    np.savez(out, wav=wav,
             label=np.array([m["class_index"] for m in meta], dtype=np.int64),
             is_val=np.array([m["split"] == "val" for m in meta]),
             is_gain_copy=np.array([m["use"] == "gain_copy" for m in meta]),
             row=np.array([m["row"] for m in meta], dtype=np.int64),
             group=np.array([int(m["recording_group"]) if m["recording_group"].isdigit() else -1
                             for m in meta], dtype=np.int64),
             sr_in=np.array([m["sr_in"] for m in meta], dtype=np.int64),
             classes=np.array(CLASSES), sample_rate=sample_rate, n_samples=n_samples,
             contract=contract)
    with open(manifest, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(meta[0].keys()))
        w.writeheader()
        w.writerows(meta)
    digest = hashlib.sha1(wav.tobytes()).hexdigest()
    low = [m for m in meta if m["low_rate"]]
    summary = dict(contract=contract, sample_rate=sample_rate, n_samples=n_samples,
                   n=len(meta), failures=len(failures), sha1=digest,
                   truncated=sum(m["truncated"] for m in meta),
                   source_rates={str(r): sum(1 for m in meta if m["sr_in"] == r)
                                 for r in sorted({m["sr_in"] for m in meta})},
                   low_rate=[dict(row=m["row"], path=m["path"], sample=m["sample"], sr_in=m["sr_in"],
                                  drum_class=m["drum_class"], split=m["split"], use=m["use"])
                             for m in low],
                   per_class={c: dict(train=sum(1 for m in meta if m["drum_class"] == c and m["split"] == "train"),
                                      val=sum(1 for m in meta if m["drum_class"] == c and m["split"] == "val"))
                              for c in CLASSES})
    with open(os.path.splitext(out)[0] + "_summary.json", "w") as f:
        json.dump(summary, f, indent=1)
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", default=os.path.join(HERE, "drum_labels.csv"))
    ap.add_argument("--cache", default=os.path.join(HERE, "cache"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--manifest", default=None)
    ap.add_argument("--install", action="store_true")
    ap.add_argument("--allow-failures", action="store_true")
    ap.add_argument("--contract", type=int, default=1, choices=sorted(CONTRACTS),
                    help="audio contract (model.json schema_version): 1 = 22.05 kHz ~1 s, 2 = 44.1 kHz ~2 s")
    a = ap.parse_args()
    sub = a.cache if a.contract == 1 else os.path.join(a.cache, f"v{a.contract}")
    out = a.out or os.path.join(sub, "dataset.npz")
    manifest = a.manifest or os.path.join(sub, "manifest.csv")
    if a.install:
        install(a.cache)
    s = build(a.labels, a.cache, out, manifest, strict=not a.allow_failures, contract=a.contract)
    print(json.dumps(s, indent=1))


if __name__ == "__main__":
    main()
