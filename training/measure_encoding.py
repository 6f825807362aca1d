#!/usr/bin/env python3
"""How faithfully a dropped sample comes back (issue #11, "faithful encoding"), measured with the
`ndm` CLI itself (the code the plugin runs) on the validation split, held apart by recording
group, so on recordings the model never trained on.

For every validation sound: the sound is written as a WAV file, then

    ndm reconstruct FILE --class C --refine-steps 0   encoder guess only (before issue #11)
    ndm reconstruct FILE --class C                    + latent refinement (the default)
    ndm reconstruct FILE --class C --detail 1         + detail 1 (= `ndm resynth`: the inverter's own error)

each reporting the log-Mel L1 in dB between the sample and what the pad plays (its audio, through
the model's log-Mel front end). Medians per class and overall go to --out (JSON) and a Markdown
table next to it.

    OMP_NUM_THREADS=1 .venv/bin/python measure_encoding.py --ndm ../target/release/ndm \
        --model ../assets --data cache/v2/dataset.npz --out reports/encoding_v1.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))

MODES = {
    "encoder_only": ["--refine-steps", "0"],
    "refined": [],
    "refined_detail_1": ["--detail", "1"],
}


def run(ndm: str, model: str, wav: str, cls: str, extra: list[str]) -> dict:
    cmd = [ndm, "--model", model, "reconstruct", wav, "-o", wav + ".out.wav", "--class", cls, "--json", *extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ndm", default=os.path.join(HERE, "..", "target", "release", "ndm"))
    ap.add_argument("--model", default=os.path.join(HERE, "..", "assets"))
    ap.add_argument("--data", default=os.path.join(HERE, "cache", "v2", "dataset.npz"))
    ap.add_argument("--out", default=os.path.join(HERE, "reports", "encoding_v1.json"))
    ap.add_argument("--max-sounds", type=int, default=0, help="0: every validation sound")
    args = ap.parse_args()

    d = np.load(args.data, allow_pickle=True)
    classes = [str(c) for c in d["classes"]]
    val = np.nonzero(d["is_val"] & ~d["is_gain_copy"])[0]
    if args.max_sounds:
        val = val[: args.max_sounds]
    sr = int(d["sample_rate"])
    rows = []
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for k, i in enumerate(val):
            cls = classes[int(d["label"][i])]
            path = os.path.join(tmp, f"val_{int(i):04d}.wav")
            sf.write(path, d["wav"][i].astype(np.float32), sr, subtype="FLOAT")
            row = {"index": int(i), "class": cls}
            for mode, extra in MODES.items():
                r = run(args.ndm, args.model, path, cls, extra)
                row[mode] = r["reconstruction_logmel_l1_db"]
                if mode == "refined":
                    row["decoder_fit_guess_db"] = r["guess_logmel_l1_db"]
                    row["decoder_fit_refined_db"] = r["fit_logmel_l1_db"]
                    row["refine_seconds"] = r["refine_seconds"]
                    row["refine_steps"] = r["refine_steps"]
            rows.append(row)
            print(f"{k + 1}/{len(val)} {cls}: " + ", ".join(f"{m} {row[m]:.2f} dB" for m in MODES), flush=True)

    def summary(sel: list[dict]) -> dict:
        keys = [*MODES, "decoder_fit_guess_db", "decoder_fit_refined_db", "refine_seconds"]
        return {"n": len(sel), **{f"median_{k}": statistics.median(r[k] for r in sel) for k in keys}}

    per_class = {c: summary([r for r in rows if r["class"] == c]) for c in classes if any(r["class"] == c for r in rows)}
    meta = json.load(open(os.path.join(args.model, "model.json")))
    res = {
        "model": meta["name"], "model_sample_rate": meta["sample_rate"], "data": os.path.relpath(args.data, HERE),
        "split": "validation (held apart by recording group)", "wall_s": round(time.time() - t0, 1),
        "overall": summary(rows), "per_class": per_class, "sounds": rows,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
    md = [f"# Encode → reconstruct on the validation split: {meta['name']} ({meta['sample_rate']} Hz)\n",
          "Log-Mel L1 in dB between each sample and what its pad plays (median; `measure_encoding.py`).\n",
          "| class | n | encoder only | + refinement | + detail 1 (= resynth) | refine s |",
          "|---|---|---|---|---|---|"]
    for name, s in [*per_class.items(), ("**all**", res["overall"])]:
        md.append(f"| {name} | {s['n']} | {s['median_encoder_only']:.2f} | {s['median_refined']:.2f} | "
                  f"{s['median_refined_detail_1']:.2f} | {s['median_refine_seconds']:.2f} |")
    with open(os.path.splitext(args.out)[0] + ".md", "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
