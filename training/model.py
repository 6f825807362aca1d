"""Models of the Neural Drum Machine (training side).

- MelFrontEnd: waveform [B,N] -> normalised log-Mel [B,n_mels,T] (TorchScript-able).
- Encoder (WAE): (wav [B,N], c [B,C]) -> z [B,latent]; contains its own MelFrontEnd.
  `encode_mel` takes the normalised log-Mel directly (used in training).
- Decoder (WAE): (z [B,latent], c [B,C]) -> normalised log-Mel [B,n_mels,T].
  c is a class WEIGHT vector (one-hot or a mix); used as input and as FiLM conditioning.
- MCNN (Arik et al. 2018): normalised log-Mel -> waveform [B,N] in [-1,1]; several heads of
  transposed convolutions (fused into grouped convolutions), summed with trainable per-head
  scalars, then a scaled softsign. Optionally (the default in train.py) one more head works
  at the frame rate and makes its output by iSTFT (SpectralHead: mel pseudo-inverse magnitude
  prior + learned residual, phase from integrated per-frame increments); it is added to the
  sum. The pure transposed-conv MCNN did not get its spectral convergence below ~0.9 in the
  CPU budget here; the spectral head converges much faster.
- Losses: MMD with an inverse multiquadratic kernel (WAE-MMD, Tolstikhin et al. 2018, used by
  the NDM paper §3), multi-resolution STFT loss (spectral convergence + log magnitude).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = ["kick", "snare", "clap", "hihat_closed", "hihat_open", "tom", "crash", "ride",
           "rim", "hand_drum", "metal_shaker"]


@dataclass
class AudioConfig:
    """Audio contract. Defaults = contract v1 (the shipped 22 050 Hz model); ``audio_config(2)``
    gives contract v2 (44.1 kHz, ~2 s). ``version`` is model.json's schema_version."""
    version: int = 1
    sample_rate: int = 22050
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 80
    n_frames: int = 86
    f_min: float = 0.0
    f_max: float = 11025.0
    log_floor: float = 1e-5
    norm_mean: float = -5.0   # replaced by data statistics in train.py
    norm_std: float = 3.0

    @property
    def n_samples(self) -> int:
        return self.n_frames * self.hop


# Contract v2 (README "Audio contract v2"): 44 100 Hz, n_fft 1024, hop 256 (5.8 ms), 344 frames
# (88 064 samples = 1.997 s), Slaney mel 0-22 050 Hz. n_mels from the Griffin-Lim / cost
# measurements of measure_contract.py (reports/contract_v2.json).
V2_AUDIO = dict(version=2, sample_rate=44100, n_fft=1024, hop=256, n_mels=128, n_frames=344,
                f_min=0.0, f_max=22050.0, log_floor=1e-5)


def audio_config(version: int = 1, **overrides) -> AudioConfig:
    """AudioConfig of contract ``version`` (1: shipped 22.05 kHz model, 2: 44.1 kHz full band)."""
    if version == 1:
        a = AudioConfig()
    elif version == 2:
        a = AudioConfig(**V2_AUDIO)
    else:
        raise ValueError(f"unknown audio contract version {version}")
    for k, v in overrides.items():
        setattr(a, k, v)
    return a


@dataclass
class ModelConfig:
    latent_dim: int = 64
    n_classes: int = 11
    enc_width: int = 256
    dec_width: int = 192
    dec_blocks: int = 1          # residual blocks per resolution
    mcnn_heads: int = 6
    mcnn_width: int = 128        # channels of a head's first layer
    mcnn_min_width: int = 8
    mcnn_kernel: int = 8         # transposed conv kernel of the stride-2 layers
    mcnn_strides: List[int] = field(default_factory=lambda: [2, 2, 2, 2, 4, 4])
    mcnn_spec_width: int = 0     # >0: add a frame-rate iSTFT head of this width
    mcnn_spec_blocks: int = 3
    enc_down: int = 3            # stride-2 stages of the encoder (v2: 4)
    dec_up: int = 3              # x2 upsampling stages of the decoder (v2: 4)


def model_config(version: int = 1, **overrides) -> ModelConfig:
    """ModelConfig defaults of contract ``version``: v2 has one more down/up-sampling stage in
    the WAE (344 frames instead of 86) and a 3-block spectral inverter of width 256."""
    m = ModelConfig()
    if version == 2:
        m.enc_down = 4
        m.dec_up = 4
        m.mcnn_heads = 0
        m.mcnn_spec_width = 256
        m.mcnn_spec_blocks = 3
    for k, v in overrides.items():
        setattr(m, k, v)
    return m


# ------------------------------------------------------------------ mel


def mel_filterbank(sr: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """Slaney-style mel filterbank (like librosa default, norm='slaney'), [n_mels, n_fft//2+1]."""
    def hz_to_mel(f):
        f = np.asanyarray(f, dtype=np.float64)
        f_sp = 200.0 / 3
        mels = f / f_sp
        min_log_hz = 1000.0
        min_log_mel = min_log_hz / f_sp
        logstep = np.log(6.4) / 27.0
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mels)

    def mel_to_hz(m):
        m = np.asanyarray(m, dtype=np.float64)
        f_sp = 200.0 / 3
        freqs = f_sp * m
        min_log_hz = 1000.0
        min_log_mel = min_log_hz / f_sp
        logstep = np.log(6.4) / 27.0
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)

    n_freq = n_fft // 2 + 1
    fftfreqs = np.linspace(0, sr / 2, n_freq)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    weights = np.zeros((n_mels, n_freq))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, None]
    return weights.astype(np.float32)


def mel_band_centres(a: "AudioConfig") -> torch.Tensor:
    """Centroid frequency (Hz) of each mel band of ``a``'s filterbank: [n_mels]."""
    fb = torch.from_numpy(mel_filterbank(a.sample_rate, a.n_fft, a.n_mels, a.f_min, a.f_max))
    f = torch.linspace(0, a.sample_rate / 2, a.n_fft // 2 + 1)
    return (fb * f).sum(1) / fb.sum(1).clamp_min(1e-12)


def band_keep_mask(centres: torch.Tensor, cutoff_hz: torch.Tensor) -> torch.Tensor:
    """[B, n_bands, 1] float mask: 1 where a band's centre lies below the item's cutoff (Hz)."""
    return (centres.view(1, -1) <= cutoff_hz.view(-1, 1).float()).float().unsqueeze(-1)


class MelFrontEnd(nn.Module):
    """wav [B,N] -> normalised log-Mel [B,n_mels,n_frames]. STFT: hann window, centred
    (reflect padding), first n_frames frames kept."""

    def __init__(self, a: AudioConfig):
        super().__init__()
        self.n_fft = a.n_fft
        self.hop = a.hop
        self.n_frames = a.n_frames
        self.log_floor = float(a.log_floor)
        self.norm_mean = float(a.norm_mean)
        self.norm_std = float(a.norm_std)
        self.register_buffer("window", torch.hann_window(a.n_fft), persistent=True)
        self.register_buffer("fb", torch.from_numpy(mel_filterbank(a.sample_rate, a.n_fft, a.n_mels,
                                                                   a.f_min, a.f_max)), persistent=True)

    def set_norm(self, mean: float, std: float):
        self.norm_mean = float(mean)
        self.norm_std = float(std)

    def power(self, wav: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wav, self.n_fft, self.hop, self.n_fft, self.window, center=True,
                          pad_mode="reflect", return_complex=True)
        p = spec.real * spec.real + spec.imag * spec.imag
        return p[:, :, : self.n_frames]

    def logmel(self, wav: torch.Tensor) -> torch.Tensor:
        mel = torch.matmul(self.fb, self.power(wav))
        return torch.log(torch.clamp(mel, min=self.log_floor))

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return (self.logmel(wav) - self.norm_mean) / self.norm_std


# ------------------------------------------------------------------ WAE


class FiLMResBlock(nn.Module):
    def __init__(self, ch: int, n_classes: int, dilation: int = 1):
        super().__init__()
        self.conv1 = nn.Conv1d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(ch, ch, 3, padding=1)
        self.film = nn.Linear(n_classes, 2 * ch)
        self.norm = nn.GroupNorm(8, ch)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        g, b = self.film(c).unsqueeze(-1).chunk(2, dim=1)
        h = self.norm(x) * (1.0 + g) + b
        h = self.conv1(F.leaky_relu(h, 0.2))
        h = self.conv2(F.leaky_relu(h, 0.2))
        return x + h


class Encoder(nn.Module):
    def __init__(self, a: AudioConfig, m: ModelConfig):
        super().__init__()
        self.front = MelFrontEnd(a)
        w = m.enc_width
        C = m.n_classes
        self.inp = nn.Conv1d(a.n_mels + C, w, 3, padding=1)
        nd = m.enc_down
        self.n_down = nd
        self.down = nn.ModuleList([nn.Conv1d(w, w, 4, stride=2, padding=1) for _ in range(nd)])
        self.blocks = nn.ModuleList([FiLMResBlock(w, C, 2 if i % 2 == 1 else 1) for i in range(nd)])
        t = a.n_frames
        for _ in range(nd):
            t = (t + 2 - 4) // 2 + 1
        self.t_out = t
        self.out = nn.Linear(w * t + C, m.latent_dim)

    def encode_mel(self, mel: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        cb = c.unsqueeze(-1).expand(c.shape[0], c.shape[1], mel.shape[2])
        h = self.inp(torch.cat([mel, cb], dim=1))
        for blk, down in zip(self.blocks, self.down):
            h = blk(h, c)
            h = down(F.leaky_relu(h, 0.2))
        h = F.leaky_relu(h, 0.2).flatten(1)
        return self.out(torch.cat([h, c], dim=1))

    def forward(self, wav: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.encode_mel(self.front(wav), c)


class Decoder(nn.Module):
    def __init__(self, a: AudioConfig, m: ModelConfig):
        super().__init__()
        w = m.dec_width
        C = m.n_classes
        self.w = w
        # v1: 11 -> 22 -> 44 -> 88, cropped to 86; v2: 22 -> 44 -> 88 -> 176 -> 352, cropped to 344
        self.t0 = -(-a.n_frames // (2 ** m.dec_up))
        self.n_frames = a.n_frames
        self.fc = nn.Linear(m.latent_dim + C, w * self.t0)
        self.ups = nn.ModuleList([nn.ConvTranspose1d(w, w, 4, stride=2, padding=1) for _ in range(m.dec_up)])
        blocks = []
        for _ in range(m.dec_up):
            for j in range(m.dec_blocks):
                blocks.append(FiLMResBlock(w, C, 1 if j % 2 == 0 else 3))
        self.blocks = nn.ModuleList(blocks)
        self.nb = m.dec_blocks
        self.out = nn.Conv1d(w, a.n_mels, 3, padding=1)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, c], dim=1)).view(z.shape[0], self.w, self.t0)
        k = 0
        for i, up in enumerate(self.ups):
            h = up(F.leaky_relu(h, 0.2))
            for j in range(self.nb):
                h = self.blocks[k](h, c)
                k += 1
        h = self.out(F.leaky_relu(h, 0.2))
        return h[:, :, : self.n_frames]


def imq_mmd(z: torch.Tensor, prior: torch.Tensor, scales=(0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)) -> torch.Tensor:
    """Unbiased MMD^2 with a sum of inverse multiquadratic kernels k(x,y)=C/(C+|x-y|^2),
    C = 2 d s (Tolstikhin et al. 2018)."""
    n, d = z.shape
    zz = torch.cdist(z, z).pow(2)
    pp = torch.cdist(prior, prior).pow(2)
    zp = torch.cdist(z, prior).pow(2)
    off = 1.0 - torch.eye(n, device=z.device)
    stat = z.new_zeros(())
    for s in scales:
        Cc = 2.0 * d * s
        kzz = Cc / (Cc + zz)
        kpp = Cc / (Cc + pp)
        kzp = Cc / (Cc + zp)
        stat = stat + ((kzz * off).sum() + (kpp * off).sum()) / (n * (n - 1)) - 2.0 * kzp.mean()
    return stat


def per_class_mmd(z: torch.Tensor, labels: torch.Tensor, gen: Optional[torch.Generator] = None) -> torch.Tensor:
    """Mean over the classes present in the batch of imq_mmd(z_c, N(0, I)): the prior is
    matched *per class* (NDM §3: one Gaussian prior per class), so z carries no class
    information and the decoder must take the class from its conditioning c.
    z: [B, latent], labels: [B] (every class present needs >= 2 items)."""
    stats = []
    for c in torch.unique(labels):
        zc = z[labels == c]
        if zc.shape[0] < 2:
            continue
        stats.append(imq_mmd(zc, torch.randn(zc.shape, generator=gen).to(zc.device)))
    return torch.stack(stats).mean()


class AuxMelClassifier(nn.Module):
    """Auxiliary class critic used only in WAE training (AC-GAN-style class-consistency loss,
    Odena et al. 2017): normalised log-Mel [B, n_mels, T] -> logits [B, n_classes]. It is
    trained on real (augmented) spectrograms only; the decoder is penalised when its output for
    class weights c is not recognised as c. 1-D convolutions over time with the mel bins as
    channels, deliberately a different architecture from evaluate.py's 2-D CNN judge."""

    def __init__(self, n_mels: int, n_classes: int, width: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(n_mels, width, 5, padding=2), nn.LeakyReLU(0.2),
            nn.Conv1d(width, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv1d(width, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv1d(width, width, 3, padding=1), nn.LeakyReLU(0.2))
        self.out = nn.Linear(2 * width, n_classes)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        h = self.net(mel)
        return self.out(torch.cat([h.mean(2), h.amax(2)], dim=1))


# ------------------------------------------------------------------ MCNN


def pointwise(x: torch.Tensor, w: torch.Tensor, b: Optional[torch.Tensor], dt: torch.dtype,
              to_float: bool = True) -> torch.Tensor:
    """Kernel-1 Conv1d as one GEMM in dtype ``dt``: x [B, in, T], w [out, in, 1], b [out] ->
    [B, out, T], float32 unless ``to_float`` is False."""
    w2 = w.squeeze(-1).to(dt)
    y = torch.matmul(w2, x.to(dt))
    if b is not None:
        y = y + b.to(dt).unsqueeze(-1)
    return y.float() if to_float else y


class ConvNeXt1d(nn.Module):
    """ConvNeXt block (Liu et al. 2022) over time: depthwise conv k=7, GroupNorm(1), 1x1 conv
    to 2C, GELU, 1x1 conv to C, scaled residual. forward: x [B, C, T] -> [B, C, T]."""

    def __init__(self, ch: int, k: int = 7):
        super().__init__()
        self.dw = nn.Conv1d(ch, ch, k, padding=k // 2, groups=ch)
        self.norm = nn.GroupNorm(1, ch)
        self.pw1 = nn.Conv1d(ch, 2 * ch, 1)
        self.pw2 = nn.Conv1d(2 * ch, ch, 1)
        self.gamma = nn.Parameter(torch.full((1, ch, 1), 0.1))

    def forward(self, x: torch.Tensor, dt: torch.dtype = torch.float32) -> torch.Tensor:
        """x [B, C, T] -> [B, C, T]; the 1x1 convs run in ``dt`` (the hidden 2C activations stay
        in it)."""
        h = F.gelu(pointwise(self.norm(self.dw(x)), self.pw1.weight, self.pw1.bias, dt, to_float=False))
        return x + self.gamma * pointwise(h, self.pw2.weight, self.pw2.bias, dt)


class SpectralHead(nn.Module):
    """Frame-rate head (Vocos-like): ConvNeXt blocks at the mel frame rate predict the STFT
    (n_fft, hop of the contract) as a log-magnitude residual over the mel pseudo-inverse and a
    per-frame phase increment (integrated by cumsum); torch.istft makes the waveform."""

    def __init__(self, a: AudioConfig, width: int, n_blocks: int):
        super().__init__()
        self.n_fft = a.n_fft
        self.hop = a.hop
        self.n_bins = a.n_fft // 2 + 1
        self.n_samples = a.n_samples
        self.inp = nn.Conv1d(a.n_mels, width, 7, padding=3)
        self.blocks = nn.ModuleList([ConvNeXt1d(width) for _ in range(n_blocks)])
        self.norm = nn.GroupNorm(1, width)
        self.out = nn.Conv1d(width, 2 * self.n_bins, 1)
        with torch.no_grad():
            self.out.weight.mul_(0.1)
            self.out.bias.zero_()
            self.out.bias[: self.n_bins].fill_(-4.0)
        self.register_buffer("window", torch.hann_window(a.n_fft), persistent=False)
        # magnitude prior: the clamped pseudo-inverse of the mel filterbank applied to the
        # de-normalised mel power; the network predicts a log-magnitude residual on top.
        fb = torch.from_numpy(mel_filterbank(a.sample_rate, a.n_fft, a.n_mels, a.f_min, a.f_max))
        self.register_buffer("pinv", torch.linalg.pinv(fb), persistent=False)
        self.norm_mean = float(a.norm_mean)
        self.norm_std = float(a.norm_std)
        self.out.bias.data[: self.n_bins].zero_()
        with torch.no_grad():
            self.out.weight[self.n_bins:].mul_(0.1)
        # phase prior: every bin advances by its centre frequency per hop (2*pi*k*hop/n_fft,
        # wrapped); the network predicts the deviation, integrated over frames (cumsum), so a
        # steady partial between bins is a constant output.
        adv = torch.remainder(2.0 * math.pi * torch.arange(self.n_bins).float() * a.hop / a.n_fft,
                              2.0 * math.pi)
        self.register_buffer("advance", adv.view(1, -1, 1), persistent=False)
        assert a.n_fft % a.hop == 0, "overlap_add needs n_fft to be a multiple of hop"
        self.env_frames = a.n_frames + 1
        self.register_buffer("env", self.ola_envelope(self.env_frames), persistent=False)

    def forward(self, mel: torch.Tensor, gemm_bf16: bool = False) -> torch.Tensor:
        """mel: normalised log-Mel [B, n_mels, T] -> waveform [B, T * hop] (float32). With
        ``gemm_bf16`` the input conv, 1x1 convs and output projection run in bfloat16."""
        logmag, phase = self.spectrum(mel, gemm_bf16)
        return self.synth(logmag, phase, mel.shape[2] * self.hop)

    def synth(self, logmag: torch.Tensor, phase: torch.Tensor, length: int) -> torch.Tensor:
        """(log-magnitude, phase) [B, T, bins] -> waveform [B, length]: the last frame is
        repeated (a centred STFT of T*hop samples has T+1 frames), then the inverse STFT."""
        logmag = torch.cat([logmag, logmag[:, -1:]], dim=1)
        phase = torch.cat([phase, phase[:, -1:]], dim=1)
        mag = torch.exp(torch.clamp(logmag, max=8.0))
        spec = torch.complex(mag * torch.cos(phase), mag * torch.sin(phase))  # [B, T+1, bins]
        return self.istft(spec, length)

    def spectrum(self, mel: torch.Tensor, gemm_bf16: bool = False):
        """mel [B, n_mels, T] -> (log-magnitude, phase), each [B, T, n_fft/2+1] (time-major):
        the STFT the head synthesises (train.py's phase losses compare it with the target's)."""
        dt = torch.bfloat16 if gemm_bf16 else torch.float32
        w_in = self.inp.weight.to(dt)
        b_in = self.inp.bias
        if b_in is not None:
            b_in = b_in.to(dt)
        h = F.conv1d(mel.to(dt), w_in, b_in, padding=w_in.shape[-1] // 2).float()
        for blk in self.blocks:
            h = blk(h, dt)
        # tail time-major ([B, T, bins]) so the inverse FFT and overlap-add need no transposes
        w_out = self.out.weight.squeeze(-1).to(dt)
        b_out = self.out.bias
        if b_out is not None:
            b_out = b_out.to(dt)
        o = F.linear(self.norm(h).transpose(1, 2).to(dt), w_out, b_out).float()
        power = F.linear(torch.exp(mel * self.norm_std + self.norm_mean).transpose(1, 2), self.pinv)
        logmag = 0.5 * torch.log(torch.clamp(power, min=1e-10)) + o[:, :, : self.n_bins]
        phase = torch.cumsum(self.advance.view(1, 1, -1) + o[:, :, self.n_bins:], dim=1)
        return logmag, phase

    def overlap_add(self, frames: torch.Tensor) -> torch.Tensor:
        """frames [B, F, n_fft] -> [B, n_fft + hop*(F-1)]: frame f starts at f*hop. n_fft is a
        multiple of hop, so this is n_fft/hop shifted adds of [B, F, hop] blocks."""
        B, n_frames = frames.shape[0], frames.shape[1]
        r = self.n_fft // self.hop
        blocks = frames.reshape(B, n_frames, r, self.hop)
        y = torch.zeros(B, n_frames + r - 1, self.hop, dtype=frames.dtype, device=frames.device)
        for j in range(r):
            y[:, j:j + n_frames] += blocks[:, :, j]
        return y.reshape(B, (n_frames + r - 1) * self.hop)

    def ola_envelope(self, n_frames: int) -> torch.Tensor:
        """Overlap-added squared window of ``n_frames`` frames: [n_fft + hop*(n_frames-1)]."""
        w2 = (self.window * self.window).view(1, 1, -1).expand(1, n_frames, self.n_fft)
        return self.overlap_add(w2)[0]

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """Inverse STFT (weighted overlap-add, Griffin & Lim 1984), same result as
        ``torch.istft(spec.transpose(1, 2), n_fft, hop, window=hann, center=True, length=length)``:
        spec [B, F, n_fft/2+1] complex (time-major) -> [B, length]. The window envelope of the
        contract's frame count is precomputed."""
        n_frames = spec.shape[1]
        frames = torch.fft.irfft(spec, n=self.n_fft, dim=2) * self.window
        y = self.overlap_add(frames)
        env = self.env if n_frames == self.env_frames else self.ola_envelope(n_frames)
        a = self.n_fft // 2
        return y[:, a:a + length] / env[a:a + length].clamp_min(1e-11)


class MCNN(nn.Module):
    """Multi-head CNN inverter (Arik et al. 2018). Heads are fused: layer l of all heads is
    one grouped transposed convolution (groups=heads). Layer 0 is a dense Conv1d from the mel
    bins to heads*width at frame rate, then transposed convolutions whose strides multiply to
    the hop (e.g. 2,2,2,2,4,4; kernel = 2*stride or more), ELU between layers. Output:
    softsign(scale * sum_h alpha_h * head_h).
    Optional (mcnn_spec_width > 0): one more head, a frame-rate SpectralHead (ConvNeXt +
    iSTFT), added to the sum; the result is clamped to [-1, 1]."""

    def __init__(self, a: AudioConfig, m: ModelConfig):
        super().__init__()
        H = m.mcnn_heads
        self.H = H
        self.hop = a.hop
        self.n_samples = a.n_samples
        strides = list(m.mcnn_strides)
        assert int(np.prod(strides)) == a.hop, (strides, a.hop)
        widths = [m.mcnn_width]
        for _ in range(len(strides) - 1):
            widths.append(max(m.mcnn_min_width, widths[-1] // 2))
        widths.append(1)
        self.widths = widths
        assert H > 0 or m.mcnn_spec_width > 0, "MCNN needs conv heads or a spectral head"
        self.use_conv = H > 0
        self.inp = nn.Conv1d(a.n_mels, max(H, 1) * widths[0], 3, padding=1) if H > 0 else None
        ups = []
        for i, s in enumerate(strides):
            if H == 0:
                break
            k = max(m.mcnn_kernel, 2 * s) if i < len(strides) - 1 else 2 * s
            ups.append(nn.ConvTranspose1d(H * widths[i], H * widths[i + 1], k, stride=s,
                                          padding=(k - s) // 2, groups=H))
        self.ups = nn.ModuleList(ups)
        self.alpha = nn.Parameter(torch.ones(max(H, 1)) / max(H, 1))
        self.scale = nn.Parameter(torch.tensor(1.0))
        self.use_spec = m.mcnn_spec_width > 0
        self.spec = SpectralHead(a, m.mcnn_spec_width, m.mcnn_spec_blocks) if self.use_spec else None
        self.gemm_bf16 = False  # see to_inference_bf16 / set_gemm_bf16

    def to_inference_bf16(self) -> None:
        """Store the GEMM weights of the spectral head (input conv, 1x1 convs, output
        projection; ~99 % of its multiply-adds) in bfloat16 for export and run those GEMMs in
        bf16 by default (about 2x faster on CPUs with AVX512-BF16 or AMX). Activations, norms,
        depthwise convs, exp/cumsum and the iSTFT stay float32. ``set_gemm_bf16(False)``
        switches the GEMMs back to float32 (on the bf16-rounded weights) for CPUs without native
        bf16, where PyTorch's bf16 GEMM is a slow fallback. Training keeps float32 weights."""
        spec = self.spec
        if spec is None:
            return
        convs = [spec.inp, spec.out] + [c for b in spec.blocks for c in (b.pw1, b.pw2)]
        for conv in convs:
            conv.weight.data = conv.weight.data.to(torch.bfloat16)
            if conv.bias is not None:
                conv.bias.data = conv.bias.data.to(torch.bfloat16)
        self.gemm_bf16 = True

    @torch.jit.export
    def set_gemm_bf16(self, enabled: bool) -> bool:
        """Chooses the GEMM precision of the spectral head at run time (the plugin times both
        at load and keeps the faster). Returns the setting now in force."""
        self.gemm_bf16 = enabled
        return self.gemm_bf16

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        y = torch.zeros(mel.shape[0], mel.shape[2] * self.hop, dtype=mel.dtype, device=mel.device)
        inp = self.inp
        if inp is not None:
            h = inp(mel)
            for up in self.ups:
                h = up(F.elu(h))
            y = (h * self.alpha.view(1, -1, 1)).sum(1)
            y = self.scale * y
            y = y / (1.0 + y.abs())
        spec = self.spec
        if spec is not None:
            y = torch.clamp(y + spec(mel, self.gemm_bf16), -1.0, 1.0)
        return y[:, : self.n_samples]


# ------------------------------------------------------------------ losses


class MultiResSTFTLoss(nn.Module):
    def __init__(self, ffts=(256, 512, 1024, 2048), per_item: bool = False):
        super().__init__()
        self.ffts = list(ffts)
        self.per_item = per_item
        for n in self.ffts:
            self.register_buffer(f"win{n}", torch.hann_window(n))

    def mag(self, x: torch.Tensor, n: int) -> torch.Tensor:
        s = torch.stft(x, n, n // 4, n, getattr(self, f"win{n}"), center=True, return_complex=True)
        return torch.sqrt(s.real ** 2 + s.imag ** 2 + 1e-7)

    def forward(self, y: torch.Tensor, x: torch.Tensor):
        sc = 0.0
        lm = 0.0
        for n in self.ffts:
            Y = self.mag(y, n)
            X = self.mag(x, n)
            if self.per_item:  # mean of per-sound SC (the evaluation metric); full-length sounds
                sc = sc + (torch.linalg.norm((X - Y).flatten(1), dim=1) /
                           (torch.linalg.norm(X.flatten(1), dim=1) + 1e-3)).mean()
            else:  # batch-level spectral convergence (robust to near-silent crops)
                sc = sc + torch.linalg.norm(X - Y) / (torch.linalg.norm(X) + 1e-7)
            lm = lm + F.l1_loss(torch.log(Y), torch.log(X))
        return sc / len(self.ffts), lm / len(self.ffts)


def anti_wrap(d: torch.Tensor) -> torch.Tensor:
    """|d - 2 pi round(d / 2 pi)|: distance of phase differences on the circle (APNet, Ai & Ling
    2023)."""
    return torch.abs(d - 2 * math.pi * torch.round(d / (2 * math.pi)))


def phase_losses(phase: torch.Tensor, target: torch.Tensor, weight: torch.Tensor):
    """Anti-wrapping phase losses (APNet, Ai & Ling 2023) between a predicted phase and the
    target STFT's phase, each [B, T, bins], weighted by ``weight`` [B, T, bins] (the target's
    magnitude: the phase of silent bins is noise and is not learnt): instantaneous phase,
    group delay (difference along frequency) and instantaneous frequency (along time).
    Returns (ip, gd, iaf), each a scalar in [0, pi]."""
    def wmean(v, w):
        return (v * w).sum() / w.sum().clamp_min(1e-8)
    ip = wmean(anti_wrap(phase - target), weight)
    wf = torch.minimum(weight[:, :, 1:], weight[:, :, :-1])
    gd = wmean(anti_wrap(torch.diff(phase, dim=2) - torch.diff(target, dim=2)), wf)
    wt = torch.minimum(weight[:, 1:], weight[:, :-1])
    iaf = wmean(anti_wrap(torch.diff(phase, dim=1) - torch.diff(target, dim=1)), wt)
    return ip, gd, iaf


def mr_stft(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-sound multi-resolution STFT distance [B]: mean over n_fft 512/1024/2048 (hop n/4,
    Hann) of spectral convergence + L1 of natural-log magnitudes floored at ~3e-4 (the inverter's
    training loss, Yamamoto et al. 2020, "Parallel WaveGAN", §2.3). y, x: [B, samples]."""
    loss = MultiResSTFTLoss((512, 1024, 2048), per_item=True)
    out = []
    for i in range(len(x)):
        sc, lm = loss(y[i:i + 1], x[i:i + 1])
        out.append(float(sc + lm))
    return torch.tensor(out)


def spectral_convergence(y: torch.Tensor, x: torch.Tensor, n_fft: int = 1024, hop: int = 256) -> torch.Tensor:
    """Per-item ||S_x - S_y||_F / ||S_x||_F on STFT magnitudes (n_fft 1024, hop 256)."""
    w = torch.hann_window(n_fft)
    X = torch.stft(x, n_fft, hop, n_fft, w, center=True, return_complex=True).abs()
    Y = torch.stft(y, n_fft, hop, n_fft, w, center=True, return_complex=True).abs()
    return torch.linalg.norm((X - Y).flatten(1), dim=1) / (torch.linalg.norm(X.flatten(1), dim=1) + 1e-8)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
