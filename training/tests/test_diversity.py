"""evaluate.py's variety measure (issue #11): generated ÷ real mean pairwise log-Mel L1 within a
class, on synthetic sounds."""
import numpy as np
import torch

from evaluate import diversity, mean_pairwise_l1
from model import CLASSES, MelFrontEnd, audio_config


def hits(n, seed, spread):
    """n decaying noise bursts whose decay times spread by `spread` (0: all alike)."""
    g = torch.Generator().manual_seed(seed)
    a = audio_config(1)
    t = torch.arange(a.n_samples) / a.sample_rate
    taus = 0.05 * (1 + spread * torch.rand(n, 1, generator=g) * 10)
    return torch.randn(n, a.n_samples, generator=g) * torch.exp(-t / taus)


def test_identical_sounds_have_no_variety_and_real_against_itself_is_one():
    fe = MelFrontEnd(audio_config(1))
    same = hits(1, 0, 0.0).repeat(4, 1)
    assert mean_pairwise_l1(fe(same)) < 1e-6
    real = hits(12, 1, 1.0)
    lab = np.zeros(12, dtype=int)
    d = diversity(fe, real, lab, real, lab)
    assert abs(d["per_class"][CLASSES[0]] - 1.0) < 1e-6
    assert d["per_class"][CLASSES[1]] is None  # no sounds of that class
    # prototypical generated sounds (one decay time, only noise differs) are less varied
    proto = diversity(fe, hits(12, 2, 0.0), lab, real, lab)
    assert proto["mean"] < 0.9
