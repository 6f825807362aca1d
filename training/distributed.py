"""Data-parallel training under PyTorch's own launcher (``torchrun`` / ``torch.distributed.run``).

    torchrun --nproc_per_node 2 training/train.py ...            # one machine, 2 processes
    torchrun --nnodes 2 --node-rank K --nproc_per_node 8 \
        --rdzv-backend c10d --rdzv-endpoint HOST:29500 training/train_library.py ...

torchrun starts the processes and sets RANK, WORLD_SIZE, LOCAL_RANK (and MASTER_ADDR/PORT);
nothing here spawns processes. Without those variables every helper degrades to the
single-process behaviour (rank 0 of 1, no process group), so ``python train.py`` is unchanged.

Sharded sampling: the training batches are drawn with replacement from class-balanced weights
(``data.DrumData.sample_indices``), so a rank's shard is its own random stream, not a slice of
an epoch. ``rank_seed(base, rank)`` gives rank 0 exactly the single-process seed and every other
rank a different, reproducible one; the generator states of all ranks travel in the checkpoint
(``gather_generator_states``) so a resumed run continues every stream where it stopped.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

# distance between the seeds of two ranks (a large prime: the per-step seeds of train.py,
# 1000 + step and 2000 + step, never collide with another rank's)
RANK_SEED_STRIDE = 1_000_003


@dataclass
class DistEnv:
    """Where this process stands: ``rank`` of ``world_size`` processes (``local_rank`` on its
    machine), the torch ``device`` it trains on and the process-group ``backend`` ("" when not
    distributed)."""
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"
    backend: str = ""

    @property
    def enabled(self) -> bool:
        """True when a process group of more than one process is running."""
        return self.world_size > 1 and dist.is_available() and dist.is_initialized()

    @property
    def is_main(self) -> bool:
        """Rank 0: the only one that writes checkpoints, logs, reports and exports."""
        return self.rank == 0


ENV = DistEnv()


def launched_by_torchrun() -> bool:
    """True when the environment variables that torchrun sets for its workers are present."""
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))


def init_distributed(device: str = "cpu") -> DistEnv:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1), else stay single.

    ``device``: "cpu", "cuda" or "auto" (cuda when available). CUDA uses the ``nccl`` backend
    and device ``cuda:LOCAL_RANK``; CPU uses ``gloo``. The rendezvous (MASTER_ADDR/PORT, or
    torchrun's c10d rendezvous on several machines) comes from the environment torchrun sets.
    Returns the module-level ``ENV`` (also updated in place).
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    local = int(os.environ.get("LOCAL_RANK", 0))
    ENV.rank, ENV.world_size, ENV.local_rank = rank, world, local
    if device == "cuda":
        torch.cuda.set_device(local)
        ENV.device = f"cuda:{local}"
    else:
        ENV.device = "cpu"
    if world > 1 and not dist.is_initialized():
        ENV.backend = "nccl" if device == "cuda" else "gloo"
        dist.init_process_group(backend=ENV.backend, rank=rank, world_size=world)
    return ENV


def cleanup() -> None:
    """Barrier, then destroy the process group (no-op when not distributed)."""
    if ENV.enabled:
        dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    """All ranks wait for each other (no-op when not distributed)."""
    if ENV.enabled:
        dist.barrier()


def any_rank(flag: bool) -> bool:
    """True when ``flag`` is true on any rank (an all-reduce MAX of one number). Every training
    loop asks this before each step so that all ranks stop at the same step (a rank that ran
    one step more would wait for its peers' gradients for ever)."""
    if not ENV.enabled:
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0], device=ENV.device if ENV.backend == "nccl" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def mean_over_ranks(value: float) -> float:
    """Mean of a float over the ranks (for logged losses; the value itself when single)."""
    if not ENV.enabled:
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64,
                     device=ENV.device if ENV.backend == "nccl" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item()) / ENV.world_size


def rank_seed(base: int, rank: int | None = None) -> int:
    """Seed of rank ``rank``'s sampling stream from the single-process seed ``base``:
    ``base`` for rank 0 (single-process runs are unchanged), ``base + rank * RANK_SEED_STRIDE``
    for the others (different, reproducible streams)."""
    r = ENV.rank if rank is None else rank
    return int(base) + int(r) * RANK_SEED_STRIDE


def rank_generator(base: int, rank: int | None = None) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``rank_seed(base, rank)``."""
    return torch.Generator().manual_seed(rank_seed(base, rank))


def gather_generator_states(gen: torch.Generator) -> list[torch.Tensor] | None:
    """The generator states of every rank, in rank order (a collective: all ranks call it), or
    None when not distributed. Stored in a checkpoint as ``gen_ranks`` next to rank 0's ``gen``."""
    if not ENV.enabled:
        return None
    out: list = [None] * ENV.world_size
    dist.all_gather_object(out, gen.get_state())
    return out


def restore_generator(gen: torch.Generator, st: dict | None, key: str = "gen") -> bool:
    """Set ``gen`` to this rank's saved state from checkpoint dict ``st``: ``st[key]`` for a
    single process, ``st[key + "_ranks"][rank]`` when the checkpoint was written by as many
    ranks as run now. Returns False (``gen`` untouched, i.e. its fresh rank seed) when the
    checkpoint has no state for this rank (other world size, or an older single-process
    checkpoint resumed by several ranks: rank 0 still gets the saved ``gen``)."""
    if not st:
        return False
    ranks = st.get(key + "_ranks")
    if ENV.world_size > 1 and ranks is not None and len(ranks) == ENV.world_size:
        gen.set_state(ranks[ENV.rank])
        return True
    if ENV.rank == 0 and st.get(key) is not None:
        gen.set_state(st[key])
        return True
    return False


def ddp(module: torch.nn.Module, find_unused: bool = False) -> torch.nn.Module:
    """``module`` wrapped in DistributedDataParallel when distributed (else ``module``).
    Gradients are averaged over the ranks in the backward pass; DDP also broadcasts rank 0's
    initial weights, so every rank starts from the same (e.g. resumed) parameters."""
    if not ENV.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel as DDP
    if ENV.backend == "nccl":
        return DDP(module, device_ids=[ENV.local_rank], find_unused_parameters=find_unused)
    return DDP(module, find_unused_parameters=find_unused)


def param_divergence(module: torch.nn.Module) -> float:
    """Largest absolute difference of any parameter between this rank and rank 0 (a collective;
    0.0 when not distributed). DDP keeps the replicas equal, so this is 0 up to float noise."""
    if not ENV.enabled:
        return 0.0
    dev = ENV.device if ENV.backend == "nccl" else "cpu"
    v = torch.cat([p.detach().reshape(-1).double() for p in module.parameters()]).to(dev)
    ref = v.clone()
    dist.broadcast(ref, src=0)
    d = (v - ref).abs().max().reshape(1)
    dist.all_reduce(d, op=dist.ReduceOp.MAX)
    return float(d.item())


def broadcast_object(obj):
    """Rank 0's ``obj`` on every rank (identity when not distributed)."""
    if not ENV.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
