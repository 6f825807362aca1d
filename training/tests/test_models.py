"""Shapes of every module (small configurations)."""
import torch

from data import augment
from model import (AudioConfig, AuxMelClassifier, Decoder, Encoder, MCNN, MelFrontEnd, ModelConfig,
                   MultiResSTFTLoss, imq_mmd, per_class_mmd, spectral_convergence)


def small():
    a = AudioConfig()
    m = ModelConfig(enc_width=32, dec_width=32, mcnn_heads=2, mcnn_width=16)
    return a, m


def test_contract_constants():
    a = AudioConfig()
    assert a.n_samples == 22016 == a.n_frames * a.hop
    assert (a.sample_rate, a.n_fft, a.hop, a.n_frames) == (22050, 1024, 256, 86)


def test_frontend_shape():
    a, m = small()
    fe = MelFrontEnd(a)
    y = fe(torch.randn(3, a.n_samples) * 0.1)
    assert y.shape == (3, a.n_mels, a.n_frames)
    assert torch.isfinite(y).all()
    # silence hits the log floor
    s = fe.logmel(torch.zeros(1, a.n_samples))
    assert torch.allclose(s, torch.full_like(s, float(torch.log(torch.tensor(a.log_floor)))))


def test_wae_shapes_and_mix_conditioning():
    a, m = small()
    enc, dec = Encoder(a, m), Decoder(a, m)
    c = torch.zeros(2, m.n_classes)
    c[0, 0] = 1
    c[1, 3] = 0.3
    c[1, 4] = 0.7
    z = enc(torch.randn(2, a.n_samples) * 0.1, c)
    assert z.shape == (2, m.latent_dim)
    mel = dec(z, c)
    assert mel.shape == (2, a.n_mels, a.n_frames)
    assert enc.encode_mel(mel, c).shape == (2, m.latent_dim)


def test_mcnn_shape_and_range():
    a, m = small()
    net = MCNN(a, m)
    y = net(torch.randn(2, a.n_mels, a.n_frames))
    assert y.shape == (2, a.n_samples)
    assert y.abs().max() <= 1.0
    # fully convolutional: crops work too
    net.n_samples = 1 << 30
    assert net(torch.randn(1, a.n_mels, 10)).shape == (1, 10 * a.hop)


def test_mcnn_with_spectral_head():
    a, m = small()
    m.mcnn_spec_width = 32
    m.mcnn_spec_blocks = 1
    net = MCNN(a, m).eval()
    mel = torch.randn(2, a.n_mels, a.n_frames)
    y = net(mel)
    assert y.shape == (2, a.n_samples) and y.abs().max() <= 1.0
    s = torch.jit.script(net)
    assert torch.allclose(s(mel), y, atol=1e-5)


def test_mcnn_spectral_head_only_is_the_shipped_layout():
    a, m = small()
    m.mcnn_heads = 0
    m.mcnn_spec_width = 32
    m.mcnn_spec_blocks = 2
    net = MCNN(a, m).eval()
    mel = torch.randn(1, a.n_mels, a.n_frames)
    s = torch.jit.script(net)
    y = s(mel)
    assert y.shape == (1, a.n_samples) and torch.allclose(y, net(mel), atol=1e-5)


def test_spectral_head_istft_matches_torch_istft():
    """The head's own overlap-add iSTFT (precomputed envelope) equals torch.istft, for the
    contract's frame count and for crops (envelope computed on the fly)."""
    from model import SpectralHead
    a, _ = small()
    head = SpectralHead(a, 16, 1)
    for frames in (a.n_frames + 1, 11):
        spec = torch.randn(2, frames, a.n_fft // 2 + 1, dtype=torch.complex64)
        n = (frames - 1) * a.hop
        ref = torch.istft(spec.transpose(1, 2), a.n_fft, a.hop, a.n_fft, torch.hann_window(a.n_fft),
                          center=True, length=n)
        assert torch.allclose(head.istft(spec, n), ref, atol=1e-5)


def test_bf16_inference_keeps_the_sound():
    """to_inference_bf16: GEMM weights in bf16, output float32, same spectrum within a few %."""
    a, m = small()
    m.mcnn_heads = 0
    m.mcnn_spec_width = 64
    m.mcnn_spec_blocks = 2
    torch.manual_seed(0)
    net = MCNN(a, m).eval()
    with torch.no_grad():
        for p in net.parameters():  # a trained-looking head: non-trivial residual and phase
            p.add_(0.05 * torch.randn_like(p))
        mel = torch.randn(2, a.n_mels, a.n_frames)
        y = net(mel)
        net.to_inference_bf16()
        assert net.spec.blocks[0].pw1.weight.dtype == torch.bfloat16
        assert net.spec.blocks[0].dw.weight.dtype == torch.float32
        s = torch.jit.script(net)
        assert s.gemm_bf16
        yb = s(mel)
        # the run-time switch (the plugin times both precisions at load)
        assert s.set_gemm_bf16(False) is False
        yf = s(mel)
    assert yb.dtype == torch.float32 and yb.shape == y.shape
    assert float(spectral_convergence(yb, y).max()) < 0.05
    assert float(spectral_convergence(yf, y).max()) < 0.05
    assert not torch.equal(yf, yb)


def test_losses_finite_and_backward():
    a, m = small()
    net = MCNN(a, m)
    x = torch.randn(2, 20 * a.hop) * 0.1
    y = net(torch.randn(2, a.n_mels, 20))
    sc, lm = MultiResSTFTLoss()(y, x)
    (sc + lm).backward()
    assert torch.isfinite(sc) and torch.isfinite(lm)
    assert spectral_convergence(x, x).max() < 1e-5
    z = torch.randn(16, 8)
    assert imq_mmd(z, torch.randn(16, 8)).abs() < 1.0
    assert imq_mmd(z + 5, torch.randn(16, 8)) > imq_mmd(z, torch.randn(16, 8))


def test_augment_shape():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 22016) * 0.1
    y = augment(x, g, p_pitch=1.0, p_shift=1.0, p_filter=1.0)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert y.abs().max() <= 0.9 + 1e-4


def test_per_class_mmd_sees_class_information_that_the_global_mmd_misses():
    g = torch.Generator().manual_seed(0)
    n, d = 64, 8
    labels = torch.arange(2).repeat_interleave(n)
    # per class N(0, I): both statistics near zero
    z_ok = torch.randn(2 * n, d, generator=g)
    # class 0 in one half-space, class 1 in the other: the union still looks Gaussian
    z_split = z_ok.clone()
    z_split[:, 0] = z_split[:, 0].abs() * torch.where(labels == 0, 1.0, -1.0)
    prior = torch.randn(2 * n, d, generator=g)
    assert imq_mmd(z_split, prior) < 0.02
    assert per_class_mmd(z_ok, labels, g).abs() < 0.02
    assert per_class_mmd(z_split, labels, g) > 5 * per_class_mmd(z_ok, labels, g).abs().clamp_min(1e-3)


def test_aux_classifier_shape_and_gradient_reaches_the_decoder():
    a, m = small()
    dec = Decoder(a, m)
    aux = AuxMelClassifier(a.n_mels, m.n_classes, width=16)
    c = torch.eye(m.n_classes)[:3]
    logits = aux(dec(torch.randn(3, m.latent_dim), c))
    assert logits.shape == (3, m.n_classes)
    torch.nn.functional.cross_entropy(logits, c.argmax(1)).backward()
    assert dec.fc.weight.grad is not None and dec.fc.weight.grad.abs().sum() > 0


def test_stratified_batch_is_grouped_by_distinct_classes(tmp_path):
    import numpy as np
    from data import DrumData
    rng = np.random.default_rng(0)
    label = np.repeat(np.arange(11), 5)
    np.savez(tmp_path / "d.npz", wav=rng.standard_normal((55, 64)).astype(np.float32), label=label,
             is_val=np.zeros(55, bool), is_gain_copy=np.zeros(55, bool), row=np.arange(55))
    data = DrumData(str(tmp_path / "d.npz"))
    idx = data.sample_stratified(4, 3, torch.Generator().manual_seed(1))
    groups = data.label[idx].view(4, 3)
    assert (groups == groups[:, :1]).all()          # each group is one class
    assert len(set(groups[:, 0].tolist())) == 4     # four different classes
