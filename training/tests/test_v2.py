"""Contract v2 pieces (44.1 kHz, ~2 s): data preparation, shapes, schema, low-rate handling,
compact resumable checkpoints. Synthetic data only."""
import csv
import json
import os

import numpy as np
import pytest
import soundfile as sf
import torch

import build_dataset
import export
from audio_io import CONTRACTS, contract_n_samples, prepare_oneshot
from model import (MCNN, Decoder, Encoder, MelFrontEnd, audio_config, band_keep_mask,
                   mel_band_centres, model_config)

HERE = os.path.dirname(os.path.abspath(__file__))


def tone(sr, dur, f=1000.0, lead=0.1, decay=0.3, amp=0.8):
    n = int(sr * dur)
    t = np.arange(n) / sr
    x = amp * np.sin(2 * np.pi * f * t) * np.exp(-t / decay)
    return np.concatenate([np.zeros(int(lead * sr)), x]).astype(np.float32)


def test_contract_v2_numbers():
    a = audio_config(2)
    c = CONTRACTS[2]
    assert a.version == 2 and a.sample_rate == 44100 == c["sample_rate"]
    assert a.n_samples == a.n_frames * a.hop == contract_n_samples(2) == 88064
    assert a.n_samples / a.sample_rate >= 1.5
    assert a.hop / a.sample_rate <= 0.006
    assert a.f_max == a.sample_rate / 2
    # v1 is unchanged
    a1 = audio_config(1)
    assert (a1.sample_rate, a1.n_mels, a1.n_samples, a1.version) == (22050, 80, 22016, 1)
    assert contract_n_samples(1) == 22016


def test_prepare_oneshot_v2_keeps_the_natural_decay():
    sr = 44100
    c = CONTRACTS[2]
    n = contract_n_samples(2)
    x = tone(48000, 4.0, decay=1.0, lead=0.05)
    y, info = prepare_oneshot(x, 48000, n_samples=n, fade_s=c["fade_s"], out_sr=sr)
    assert y.shape == (n,) and info["truncated"]
    assert abs(y[-1]) < 1e-4
    # only the last 50 ms are faded: 60 ms before the end the envelope is the natural exp decay
    t = (n - int(0.06 * sr)) / sr
    seg = np.abs(y[n - int(0.07 * sr): n - int(0.06 * sr)]).max()
    expected = 0.8 * np.exp(-t / 1.0) * (0.99 / max(0.99, 0.8))
    assert seg == pytest.approx(expected, rel=0.1)


def test_v2_module_shapes_small():
    a = audio_config(2, n_mels=64)
    m = model_config(2, enc_width=32, dec_width=32, mcnn_spec_width=32, mcnn_spec_blocks=1)
    enc, dec, inv = Encoder(a, m), Decoder(a, m), MCNN(a, m).eval()
    c = torch.zeros(2, m.n_classes)
    c[:, 3] = 1
    z = enc(0.1 * torch.randn(2, a.n_samples), c)
    assert z.shape == (2, m.latent_dim)
    mel = dec(z, c)
    assert mel.shape == (2, a.n_mels, a.n_frames)
    y = inv(mel)
    assert y.shape == (2, a.n_samples) and y.abs().max() <= 1.0
    s = torch.jit.script(inv)
    assert torch.allclose(s(mel), y, atol=1e-5)


def test_band_keep_mask_drops_bands_above_source_nyquist():
    a = audio_config(2, n_mels=64)
    centres = mel_band_centres(a)
    assert centres.shape == (64,) and torch.all(centres[1:] > centres[:-1])
    keep = band_keep_mask(centres, torch.tensor([float("inf"), 0.94 * 22050 / 2]))
    assert keep.shape == (2, 64, 1)
    assert keep[0].sum() == 64
    assert 0 < keep[1].sum() < 64
    assert float(centres[keep[1, :, 0] > 0].max()) <= 0.94 * 11025


def _labels(tmp_path, rows):
    cols = ["package", "registry", "version", "path", "sample", "kit", "instrument", "midi_note", "use",
            "drum_class", "subclass", "label_from", "layer", "n_layers", "velocity_range",
            "recording_group", "duplicate_of", "license", "author"]
    p = tmp_path / "labels.csv"
    with open(p, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow(dict(dict(package="hydrogen-drumkits", registry="debian", kit="K", author="X"), **r))
    return str(p)


def test_build_v2_flags_low_rate_sources(tmp_path):
    rows = []
    for i, (cls, sr) in enumerate([("kick", 44100), ("crash", 48000), ("hihat_closed", 22050)]):
        p = tmp_path / f"{cls}.wav"
        sf.write(p, tone(sr, 0.5 + i, f=300 * (i + 1)), sr)
        rows.append(dict(path=str(p), use="train", drum_class=cls, recording_group=str(i)))
    labels = _labels(tmp_path, rows)
    out, man = str(tmp_path / "v2" / "ds.npz"), str(tmp_path / "man.csv")
    s = build_dataset.build(labels, str(tmp_path), out, man, contract=2)
    assert s["n"] == 3 and s["contract"] == 2 and s["sample_rate"] == 44100
    assert [r["sr_in"] for r in s["low_rate"]] == [22050]
    d = np.load(out)
    assert d["wav"].shape == (3, 88064) and int(d["sample_rate"]) == 44100
    assert list(d["sr_in"]) == [44100, 48000, 22050]
    m = list(csv.DictReader(open(man)))
    assert [r["low_rate"] for r in m] == ["0", "0", "1"]
    # the same rows at contract 1 keep the v1 layout; the split does not depend on the contract
    s1 = build_dataset.build(labels, str(tmp_path), str(tmp_path / "ds1.npz"), str(tmp_path / "m1.csv"))
    assert s1["sample_rate"] == 22050 and np.load(str(tmp_path / "ds1.npz"))["wav"].shape == (3, 22016)
    assert s1["low_rate"] == []
    m1 = list(csv.DictReader(open(tmp_path / "m1.csv")))
    assert [r["split"] for r in m1] == [r["split"] for r in m]


def test_schema_accepts_v2_and_the_shipped_v1():
    a = audio_config(2)
    m = model_config(2)
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(30, m.latent_dim))
    labels = np.arange(30) % m.n_classes
    meta = export.make_meta(a, m, codes, labels, "v2-test", None)
    assert meta["schema_version"] == 2 and meta["sample_rate"] == 44100
    assert meta["end_fade_s"] == CONTRACTS[2]["fade_s"]
    export.validate_meta(meta)
    shipped = os.path.join(HERE, "..", "..", "assets", "model.json")
    if os.path.exists(shipped):
        export.validate_meta(json.load(open(shipped)))
    for bad in (dict(meta, schema_version=3),
                {k: v for k, v in meta.items() if k != "end_fade_s"},       # v2 needs its fade
                dict(meta, n_frames=172, n_samples=172 * 256),               # < 1.5 s
                dict(meta, hop=512, n_frames=172)):                          # hop > 6 ms
        with pytest.raises(Exception):
            export.validate_meta(bad)


def test_compact_checkpoint_round_trip():
    import train
    net = torch.nn.Linear(4, 3)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.randn(5, 4)).pow(2).sum().backward()
    opt.step()
    sd = train.compact_opt_state(opt.state_dict())
    st = sd["state"][0]
    assert st["exp_avg"].dtype == torch.bfloat16 and st["exp_avg_sq"].dtype == torch.bfloat16
    opt2 = torch.optim.Adam(net.parameters(), lr=1e-3)
    opt2.load_state_dict(sd)
    s2 = opt2.state_dict()["state"][0]
    assert s2["exp_avg"].dtype == torch.float32
    assert torch.allclose(s2["exp_avg"], opt.state_dict()["state"][0]["exp_avg"], rtol=1e-2, atol=1e-8)


def _tiny_v2_dataset(path, n=12):
    rng = np.random.default_rng(0)
    N = contract_n_samples(2)
    t = np.arange(N) / 44100
    wav = np.stack([(0.5 * np.sin(2 * np.pi * (200 + 150 * i) * t) * np.exp(-t / 0.3)
                     + 0.01 * rng.normal(size=N)) for i in range(n)]).astype(np.float32)
    label = np.arange(n) % 11
    np.savez(path, wav=wav, label=label, is_val=np.arange(n) >= n - 2,
             is_gain_copy=np.zeros(n, bool), row=np.arange(n), group=np.arange(n),
             sr_in=np.where(np.arange(n) == 0, 22050, 44100), classes=np.array(["x"] * 11),
             sample_rate=44100, n_samples=N, contract=2)


def test_train_v2_runs_pauses_and_resumes(tmp_path, monkeypatch):
    """train.py --contract 2: a tiny run writes a compact resumable checkpoint (weights,
    optimiser, step, RNG state); a second call resumes at its step."""
    import sys
    import train
    data = str(tmp_path / "ds.npz")
    _tiny_v2_dataset(data)
    ck = str(tmp_path / "run")
    argv = ["train.py", "--contract", "2", "--data", data, "--ckpt-dir", ck, "--compact-ckpt",
            "--stages", "mcnn,wae", "--mcnn-minutes", "0.01", "--wae-minutes", "0.01",
            "--spec-width", "16", "--spec-blocks", "1", "--mcnn-batch", "2", "--crop-frames", "16",
            "--mmd-per-class", "2", "--mmd-classes", "2", "--ckpt-every", "1000", "--phase-loss", "0.5"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(train, "CKPT", train.CKPT)
    train.main()
    mc = train.load(os.path.join(ck, "mcnn.pt"))
    wae = train.load(os.path.join(ck, "wae.pt"))
    assert mc["step"] >= 1 and wae["step"] >= 1 and mc["a"]["version"] == 2
    assert mc["gen"] is not None and "gen" in wae
    assert next(iter(mc["opt"]["state"].values()))["exp_avg"].dtype == torch.bfloat16
    assert os.path.exists(os.path.join(ck, "norm.json")) and os.path.exists(os.path.join(ck, "commands.json"))
    s1, w1 = mc["step"], wae["step"]
    train.main()
    mc2 = train.load(os.path.join(ck, "mcnn.pt"))
    wae2 = train.load(os.path.join(ck, "wae.pt"))
    assert mc2["step"] > s1 and wae2["step"] > w1
    assert len(json.load(open(os.path.join(ck, "commands.json")))) == 2


def test_export_round_trip_v2_small(tmp_path):
    """A tiny contract-v2 model set exports, reloads and validates as schema_version 2."""
    torch.manual_seed(0)
    a = audio_config(2)
    m = model_config(2, enc_width=16, dec_width=16, mcnn_spec_width=16, mcnn_spec_blocks=1)
    enc, dec, inv = Encoder(a, m), Decoder(a, m), MCNN(a, m)
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(30, m.latent_dim))
    rep = export.export_models(enc, dec, inv, a, m, codes, np.arange(30) % m.n_classes, str(tmp_path),
                               "v2-test", training=dict(command="pytest"), timing=False)
    assert rep["mcnn.pt"]["how"] == "script"
    meta = json.load(open(tmp_path / "model.json"))
    assert meta["schema_version"] == 2 and meta["n_samples"] == 88064 and meta["n_mels"] == a.n_mels
    mel = torch.jit.load(str(tmp_path / "decoder.pt"))(torch.zeros(1, 64), torch.eye(11)[:1])
    assert mel.shape == (1, a.n_mels, a.n_frames)
    assert torch.jit.load(str(tmp_path / "mcnn.pt"))(mel).shape == (1, a.n_samples)


def test_phase_losses_and_spectral_head_parts():
    from model import anti_wrap, phase_losses
    d = torch.tensor([0.1, 2 * np.pi - 0.1, -2 * np.pi + 0.2, np.pi])
    assert torch.allclose(anti_wrap(d), torch.tensor([0.1, 0.1, 0.2, np.pi]), atol=1e-5)
    p = torch.rand(2, 5, 7) * 6
    w = torch.rand(2, 5, 7)
    assert all(float(v) < 1e-5 for v in phase_losses(p, p + 2 * np.pi, w))
    assert all(float(v) > 0 for v in phase_losses(p, p + 0.5 * torch.randn_like(p), w))
    # the head's (logmag, phase) parts resynthesise exactly what forward() returns
    a = audio_config(2, n_mels=32, n_frames=40)
    m = model_config(2, mcnn_spec_width=16, mcnn_spec_blocks=1)
    net = MCNN(a, m).eval()
    mel = torch.randn(1, 32, 40)
    lm, ph = net.spec.spectrum(mel)
    assert lm.shape == ph.shape == (1, 40, a.n_fft // 2 + 1)
    assert torch.allclose(torch.clamp(net.spec.synth(lm, ph, 40 * a.hop), -1, 1), net(mel), atol=1e-6)
