"""Export round trip of a small random model set + model.json schema validation."""
import copy
import json
import os

import jsonschema
import numpy as np
import pytest
import torch

import export
from model import CLASSES, AudioConfig, Decoder, Encoder, MCNN, ModelConfig


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    a = AudioConfig()
    m = ModelConfig(enc_width=32, dec_width=32, mcnn_heads=2, mcnn_width=16, mcnn_spec_width=32,
                    mcnn_spec_blocks=1)
    enc, dec, mc = Encoder(a, m), Decoder(a, m), MCNN(a, m)
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(40, m.latent_dim))
    labels = np.arange(40) % len(CLASSES)
    out = tmp_path_factory.mktemp("assets")
    rep = export.export_models(enc, dec, mc, a, m, codes, labels, str(out), "test",
                               training=dict(command="pytest"), timing=True)
    return out, rep, (enc, dec, mc, a, m)


def test_files_and_reload(exported):
    out, rep, (enc, dec, mc, a, m) = exported
    meta = json.load(open(out / "model.json"))
    for f in ["decoder.pt", "mcnn.pt", "encoder.pt", "model.json"]:
        assert (out / f).exists()
    d = torch.jit.load(str(out / "decoder.pt"))
    mm = torch.jit.load(str(out / "mcnn.pt"))
    e = torch.jit.load(str(out / "encoder.pt"))
    C = len(meta["classes"])
    z = torch.randn(3, meta["latent_dim"])
    c = torch.softmax(torch.randn(3, C), 1)
    with torch.no_grad():
        mel = d(z, c)
        assert mel.shape == (3, meta["n_mels"], meta["n_frames"])
        w = mm(mel)
        assert w.shape == (3, meta["n_samples"])
        assert e(w, c).shape == (3, meta["latent_dim"])
        assert torch.allclose(mel, dec(z, c), atol=1e-4)
    for k in ["decoder.pt", "mcnn.pt", "encoder.pt"]:
        assert rep[k]["max_abs_diff"] <= 1e-4
    assert rep["timing_1thread"]["decoder_mcnn_ms_median"] > 0


def test_model_json_valid_and_consistent(exported):
    out, _, _ = exported
    meta = json.load(open(out / "model.json"))
    export.validate_meta(meta)
    assert meta["classes"] == CLASSES
    assert meta["n_samples"] == meta["n_frames"] * meta["hop"] == 22016
    g = meta["latent"]["global"]
    comps = np.array(g["components"])
    assert comps.shape[0] >= 3 and np.allclose(np.linalg.norm(comps, axis=1), 1, atol=1e-6)
    assert list(g["std"]) == sorted(g["std"], reverse=True)
    assert set(meta["latent"]["per_class"]) == set(CLASSES)


@pytest.mark.parametrize("breaker", [
    lambda d: d.pop("n_mels"),
    lambda d: d.__setitem__("schema_version", 2),
    lambda d: d.__setitem__("sample_rate", "22050"),
    lambda d: d["mel"].pop("norm_std"),
    lambda d: d["mel"].__setitem__("norm_std", 0),
    lambda d: d["latent"]["global"].__setitem__("components", d["latent"]["global"]["components"][:2]),
    lambda d: d["latent"]["global"].__setitem__("std", [-1.0, 0.0, 0.0]),
    lambda d: d.__setitem__("classes", ["kick", "kick"]),
])
def test_broken_json_fails(exported, breaker):
    out, _, _ = exported
    meta = json.load(open(out / "model.json"))
    bad = copy.deepcopy(meta)
    breaker(bad)
    with pytest.raises((jsonschema.ValidationError, AssertionError)):
        export.validate_meta(bad)


def test_contract_check_beyond_schema(exported):
    out, _, _ = exported
    meta = json.load(open(out / "model.json"))
    bad = copy.deepcopy(meta)
    bad["n_samples"] = 22000
    with pytest.raises(AssertionError):
        export.validate_meta(bad)


def test_seed_checkpoints_from_export(exported, tmp_path, monkeypatch):
    """Training can continue from an exported model: the seeded checkpoints hold its weights."""
    import train
    out, _, (enc, dec, mc, a, m) = exported
    monkeypatch.setattr(train, "CKPT", str(tmp_path))
    # the caller's configuration may differ from the exported inverter's: the layout is read
    # from the exported weights
    import copy
    m_other = copy.deepcopy(m)
    m_other.mcnn_spec_blocks += 2
    m_other.mcnn_heads = 0
    assert train.exported_inverter_config(torch.jit.load(str(out / "mcnn.pt")).state_dict(), m_other).mcnn_spec_blocks == m.mcnn_spec_blocks
    written = train.seed_from_export(str(out), a, m_other)
    assert sorted(written) == ["mcnn.pt", "wae.pt"]
    wae = train.load(str(tmp_path / "wae.pt"))
    net = train.load(str(tmp_path / "mcnn.pt"))
    for k, v in dec.state_dict().items():
        assert torch.equal(wae["dec"][k], v), k
    for k, v in enc.state_dict().items():
        assert torch.equal(wae["enc"][k], v), k
    for k, v in mc.state_dict().items():  # the inverter's GEMM weights were exported in bf16
        assert net["net"][k].dtype == torch.float32, k
        assert torch.allclose(net["net"][k], v, rtol=1e-2, atol=1e-6), k
    assert net["m"]["mcnn_heads"] == m.mcnn_heads and net["m"]["mcnn_spec_blocks"] == m.mcnn_spec_blocks
    # existing checkpoints are never overwritten
    assert train.seed_from_export(str(out), a, m) == []
