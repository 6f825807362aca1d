"""train_library.py on a tiny synthetic library (classes that are not the shipped eleven), run by
torchrun with 2 processes (DDP over gloo); the per-rank sample streams of distributed.py.

Synthetic data only; the two torchrun runs take ~20-30 s each on 2 loaded cores."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

import distributed as D
import export
import train_library
from data import DrumData

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.dirname(HERE)
CLASSES = ["thud", "tick", "zap"]  # sorted: the order train_library gives them
TINY = ["--enc-width", "32", "--dec-width", "32", "--spec-width", "32", "--spec-blocks", "1",
        "--no-timing", "--train-args", "--mmd-per-class 2 --mcnn-batch 2"]


def one_shot(kind: str, sr: int, i: int) -> np.ndarray:
    """0.3 s synthetic drum-like sound: zap = falling chirp, thud = low sine, tick = noise burst."""
    n = int(0.3 * sr)
    t = np.arange(n) / sr
    rng = np.random.default_rng(i)
    if kind == "zap":
        x = np.sin(2 * np.pi * (2500 - 2000 * t / 0.3) * t) * np.exp(-t / 0.06)
    elif kind == "thud":
        x = np.sin(2 * np.pi * (55 + 15 * i) * t) * np.exp(-t / 0.12)
    else:
        x = rng.standard_normal(n) * np.exp(-t / 0.008)
    lead = np.zeros(int(0.01 * sr * (i + 1)))
    return (0.7 * np.concatenate([lead, x])).astype(np.float32)


def make_library(root) -> None:
    """root/<class>/... : WAV and FLAC at 44.1 / 48 / 22.05 kHz, plus files to be rejected."""
    for kind, ext, sr in [("zap", "wav", 44100), ("thud", "flac", 48000), ("tick", "wav", 22050)]:
        os.makedirs(root / kind, exist_ok=True)
        for i in range(3):
            sf.write(str(root / kind / f"{kind}{i}.{ext}"), one_shot(kind, sr, i), sr)
    (root / "zap" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    sf.write(str(root / "tick" / "silence.wav"), np.zeros(4000, np.float32), 22050)
    os.makedirs(root / "lonely", exist_ok=True)
    sf.write(str(root / "lonely" / "only.wav"), one_shot("zap", 44100, 0), 44100)
    (root / "notes.txt").write_text("not a sound")


def torchrun(*args, timeout=240):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           os.path.join(TRAINING, "train_library.py"), *args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=TRAINING)
    assert r.returncode == 0, f"{cmd}\nstdout:\n{r.stdout[-4000:]}\nstderr:\n{r.stderr[-6000:]}"
    return r.stdout + r.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    make_library(root)
    out = tmp_path_factory.mktemp("model") / "my-kit"
    log1 = torchrun(str(root), "--out", str(out), "--name", "my-kit", "--minutes", "5",
                    "--max-steps", "2", *TINY)
    meta1 = json.load(open(out / "model.json"))
    log2 = torchrun(str(root), "--out", str(out), "--name", "my-kit", "--minutes", "5",
                    "--max-steps", "3", *TINY)
    return root, out, log1, meta1, log2


def test_report(trained):
    _, out, log1, _, _ = trained
    rep = json.load(open(out / "dataset_report.json"))
    assert rep["classes"] == CLASSES
    assert rep["counts"] == {"thud": 3, "tick": 3, "zap": 3}
    why = {r["path"]: r["reason"] for r in rep["rejected"]}
    assert why["zap/broken.wav"].startswith("unreadable")
    assert why["tick/silence.wav"].startswith("silent")
    assert why["lonely/only.wav"].startswith("too few files in class 'lonely'")
    assert why["notes.txt"].startswith("not an audio file")
    assert rep["n_rejected"] == 4 and rep["n_files"] == 9
    assert rep["source_rates"] == {"22050": 3, "44100": 3, "48000": 3}
    assert "class zap" in log1 and "rejected zap/broken.wav" in log1  # printed as well


def test_both_ranks_trained(trained):
    _, out, log1, meta1, _ = trained
    assert "world size 2 (gloo, cpu)" in log1
    tr = meta1["training"]
    assert tr["world_size"] == 2 and tr["backend"] == "gloo"
    assert tr["wae"]["steps"] == 2 and tr["mcnn"]["steps"] == 2 and tr["mcnn"]["finetune_steps"] == 2
    # DDP kept the replicas identical although each rank drew other sounds
    div = tr["runs"][-1]["rank_weight_divergence"]
    assert set(div) == {"wae", "mcnn", "finetune"} and max(div.values()) < 1e-6
    st = torch.load(out / "checkpoints" / "wae.pt", map_location="cpu", weights_only=False)
    assert len(st["gen_ranks"]) == 2 and not torch.equal(st["gen_ranks"][0], st["gen_ranks"][1])
    assert torch.equal(st["gen_ranks"][0], st["gen"])


def test_resume(trained):
    _, out, _, _, log2 = trained
    assert "wae: 2 steps done" in log2 and "wae: resumed at step 2" in log2
    meta = json.load(open(out / "model.json"))
    tr = meta["training"]
    assert tr["wae"]["steps"] == 3 and tr["mcnn"]["steps"] == 3 and tr["mcnn"]["finetune_steps"] == 3
    assert len(tr["runs"]) == 2 and all(r["world_size"] == 2 for r in tr["runs"])
    assert len(tr["commands"]) == 2


def test_exported_model(trained):
    _, out, _, _, _ = trained
    meta = json.load(open(out / "model.json"))
    export.validate_meta(meta)
    assert meta["classes"] == CLASSES and meta["name"] == "my-kit"
    assert meta["schema_version"] == 1 and meta["sample_rate"] == 22050  # the shipped contract
    assert set(meta["latent"]["per_class"]) == set(CLASSES)
    # weights came from the shipped model where the shapes allow (here: the Mel front end)
    assert meta["training"]["init"].startswith("from ")
    dec = torch.jit.load(str(out / "decoder.pt"))
    inv = torch.jit.load(str(out / "mcnn.pt"))
    enc = torch.jit.load(str(out / "encoder.pt"))
    c = torch.eye(3)[[0, 2]]
    with torch.no_grad():
        mel = dec(torch.randn(2, meta["latent_dim"]), c)
        assert mel.shape == (2, meta["n_mels"], meta["n_frames"])
        wav = inv(mel)
        assert wav.shape == (2, meta["n_samples"]) and torch.isfinite(wav).all()
        assert enc(wav, c).shape == (2, meta["latent_dim"])


def test_csv_labels_and_unknown_class(tmp_path):
    """--labels CSV (mp3, ogg, aiff), --classes restricts and orders them."""
    for i in range(2):
        sf.write(str(tmp_path / f"a{i}.mp3"), one_shot("zap", 44100, i), 44100, format="MP3")
        sf.write(str(tmp_path / f"b{i}.ogg"), one_shot("thud", 44100, i), 44100, format="OGG")
        sf.write(str(tmp_path / f"c{i}.aiff"), one_shot("tick", 44100, i), 44100, format="AIFF")
    rows = [("a0.mp3", "Laser"), ("a1.mp3", "Laser"), ("b0.ogg", "Boom"), ("b1.ogg", "Boom"),
            ("c0.aiff", "Click"), ("c1.aiff", "Click"), ("gone.wav", "Boom")]
    with open(tmp_path / "labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "class"])
        w.writerows(rows)
    arrays, rep = train_library.build_library(str(tmp_path), 1, str(tmp_path / "labels.csv"),
                                              classes=["Laser", "Boom"])
    assert rep["classes"] == ["Laser", "Boom"] and rep["counts"] == {"Laser": 2, "Boom": 2}
    why = {r["path"]: r["reason"] for r in rep["rejected"]}
    assert why["c0.aiff"] == "unknown class 'Click'" and why["gone.wav"] == "missing file"
    assert arrays["wav"].shape == (4, 22016) and list(arrays["label"]) == [0, 0, 1, 1]
    np.savez(tmp_path / "d.npz", **arrays)
    d = DrumData(str(tmp_path / "d.npz"))
    assert d.classes == ["Laser", "Boom"] and d.n_classes == 2 and d.class_weights.shape == (2, 4)


def test_too_many_classes(tmp_path):
    for k in range(17):
        for i in range(2):
            os.makedirs(tmp_path / f"c{k}", exist_ok=True)
            sf.write(str(tmp_path / f"c{k}" / f"{i}.wav"), one_shot("tick", 22050, i), 22050)
    with pytest.raises(SystemExit, match="17 classes: at most 16"):
        train_library.build_library(str(tmp_path), 1)


def test_default_model_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert train_library.default_models_dir() == str(tmp_path / "neural-drum-machine" / "models")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert train_library.default_models_dir() == str(tmp_path / "home" / ".local/share/neural-drum-machine/models")
    assert train_library.slug("My Kit / 2") == "My-Kit-2"


# ------------------------------------------------------------------ sharded sampling


def test_rank_streams_sharded_and_reproducible(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    n = 40
    np.savez(tmp_path / "d.npz", wav=rng.standard_normal((n, 64)).astype(np.float32),
             label=np.arange(n) % 4, is_val=np.zeros(n, bool), is_gain_copy=np.zeros(n, bool),
             row=np.arange(n), sample_rate=np.int64(22050), classes=np.array(["a", "b", "c", "d"]))
    data = DrumData(str(tmp_path / "d.npz"))
    # rank 0 keeps the single-process seed of train.py (1000 + step): single runs are unchanged
    assert D.rank_seed(1000, 0) == 1000
    g0 = D.rank_generator(1000 + 7, 0)
    assert torch.equal(g0.get_state(), torch.Generator().manual_seed(1007).get_state())

    def draws(rank, k=5):
        g = D.rank_generator(1000, rank)
        return torch.cat([data.sample_indices(16, g) for _ in range(k)])

    streams = [draws(r) for r in range(4)]
    for r in range(4):
        assert torch.equal(streams[r], draws(r))  # reproducible
        for q in range(r):
            assert not torch.equal(streams[r], streams[q])  # a different stream per rank
    # every rank still samples class-balanced over the whole training split
    allr = torch.cat(streams)
    counts = torch.bincount(data.label[allr], minlength=4).float()
    assert counts.min() / counts.max() > 0.6
    assert len(torch.unique(allr)) == n

    # checkpoints: every rank gets its own stream back when the world size matches
    gens = [D.rank_generator(1000, r) for r in range(2)]
    for g in gens:
        data.sample_indices(8, g)
    st = dict(gen=gens[0].get_state(), gen_ranks=[g.get_state() for g in gens])
    monkeypatch.setattr(D.ENV, "world_size", 2)
    for r in range(2):
        monkeypatch.setattr(D.ENV, "rank", r)
        g = D.rank_generator(1000 + 8, r)
        assert D.restore_generator(g, st)
        assert torch.equal(data.sample_indices(8, g), data.sample_indices(8, _copy(gens[r])))
    # another world size: rank 0 continues the saved single stream, other ranks start fresh
    monkeypatch.setattr(D.ENV, "world_size", 3)
    monkeypatch.setattr(D.ENV, "rank", 2)
    g = D.rank_generator(1008, 2)
    fresh = g.get_state()
    assert not D.restore_generator(g, st) and torch.equal(g.get_state(), fresh)
    monkeypatch.setattr(D.ENV, "rank", 0)
    g = D.rank_generator(1008, 0)
    assert D.restore_generator(g, st) and torch.equal(g.get_state(), st["gen"])


def _copy(g: torch.Generator) -> torch.Generator:
    c = torch.Generator()
    c.set_state(g.get_state())
    return c


def test_train_py_under_torchrun(tmp_path):
    """train.py itself under torchrun: 2 ranks, rank 0's checkpoints hold both ranks' streams."""
    rng = np.random.default_rng(0)
    n, N = 22, 22016
    t = np.arange(N) / 22050
    wav = np.stack([0.5 * np.sin(2 * np.pi * (100 + 50 * i) * t) * np.exp(-t / 0.1)
                    + 0.01 * rng.standard_normal(N) for i in range(n)]).astype(np.float32)
    np.savez(tmp_path / "d.npz", wav=wav, label=np.arange(n) % 11, is_val=np.zeros(n, bool),
             is_gain_copy=np.zeros(n, bool), row=np.arange(n), sample_rate=np.int64(22050))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           os.path.join(TRAINING, "train.py"), "--data", str(tmp_path / "d.npz"),
           "--ckpt-dir", str(tmp_path / "ck"), "--stages", "wae,mcnn", "--wae-max-steps", "2",
           "--mcnn-max-steps", "2", "--mmd-per-class", "2", "--mmd-classes", "3", "--mcnn-batch", "2",
           "--spec-width", "32", "--spec-blocks", "1", "--mcnn-heads", "0"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=TRAINING,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    assert "distributed: world size 2, backend gloo" in r.stdout
    assert r.stdout.count("wae: done, step 2") == 1  # rank 0 alone logs
    for f in ("wae.pt", "mcnn.pt"):
        st = torch.load(tmp_path / "ck" / f, map_location="cpu", weights_only=False)
        assert st["step"] == 2 and len(st["gen_ranks"]) == 2
    cmds = json.load(open(tmp_path / "ck" / "commands.json"))
    assert len(cmds) == 1 and cmds[0]["world_size"] == 2
