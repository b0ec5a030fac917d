"""Training on several processes with DistributedDataParallel, as started by `torchrun`.

`vemo train` runs unchanged under `torchrun --nproc-per-node N` (or `vemo train --nproc N`, which
starts that): each process trains a replica on its shard of every epoch (a `DistributedSampler`
seeded per epoch), gradients are averaged every step (NCCL on CUDA, gloo on CPU), so the replicas
stay identical; only rank 0 writes the run folder. Without torchrun's variables this module is
inert and training is exactly the single-process loop.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, DistributedSampler

from vemo.checks import require_number
from vemo.engine import die_with_parent
from vemo.errors import ConfigError
from vemo.io.runs import RunFolder
from vemo.io.workspace import require_workspace
from vemo.models import model_info
from vemo.models.inputs import resolve_device
from vemo.training.config import TrainConfig


@dataclass(frozen=True)
class Processes:
    """This process's place among the training processes (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def join_processes(device: torch.device) -> Processes:
    """Join torchrun's process group when started by torchrun (WORLD_SIZE > 1); else one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Processes()
    die_with_parent(os.getppid())  # torchrun gone (its `vemo train --nproc` killed): this worker goes too
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    processes = Processes(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        torch.cuda.set_device(processes.local_rank)
    return processes


def process_device(device: torch.device, processes: Processes) -> torch.device:
    """Each process on its own GPU (cuda:LOCAL_RANK); CPU processes share the CPU."""
    return torch.device("cuda", processes.local_rank) if device.type == "cuda" and processes.distributed else device


def replicate(model: nn.Module, processes: Processes, freeze_epochs: int) -> nn.Module:
    """The module that trains: a DDP wrapper of `model` when distributed, else `model` itself."""
    if not processes.distributed:
        return model
    if freeze_epochs:
        raise ConfigError(
            "head-only warm-up epochs cannot change which layers learn under DDP: use --freeze-epochs 0 with --nproc/torchrun",
            "freeze_epochs",
        )
    device_ids = [processes.local_rank] if next(model.parameters()).is_cuda else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def shard(count: int, processes: Processes, seed: int) -> torch.Tensor:
    """This process's share of a shuffled epoch of `count` samples; every share has the same
    length (the sampler repeats a few samples), so every process takes the same number of steps."""
    indexes = cast(Dataset, range(count))  # the sampler needs only a length
    sampler: DistributedSampler = DistributedSampler(indexes, num_replicas=processes.world, rank=processes.rank, shuffle=True, seed=seed)
    return torch.tensor(list(sampler), dtype=torch.long)


def summed(values: list[float], processes: Processes) -> list[float]:
    """Per-process sums (loss, correct, count) added over every process."""
    if not processes.distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor)
    return tensor.tolist()


def replicas_identical(model: nn.Module, processes: Processes) -> bool:
    """Whether every process ends with the same weights (DDP's promise, checked, not assumed)."""
    if not processes.distributed:
        return True
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digests: list[Any] = [None] * processes.world
    dist.all_gather_object(digests, digest.hexdigest())
    return len(set(digests)) == 1


def leave_processes(processes: Processes) -> None:
    if processes.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


class ReadOnlyRun:
    """A run folder seen by a process other than rank 0: it reads (to resume) but never writes."""

    def __init__(self, run: RunFolder) -> None:
        self._run = run

    def __getattr__(self, name: str):
        if name.startswith(("write_", "save_")):
            return lambda *args, **kwargs: None
        return getattr(self._run, name)


def run_folder_for(run: RunFolder, processes: Processes) -> RunFolder:
    return run if processes.main else ReadOnlyRun(run)  # type: ignore[return-value]


def check_before_launch(workspace: Path, config: TrainConfig, nproc: int) -> None:
    """What every rank would refuse, refused once before torchrun starts.

    Raises:
        ConfigError: a process count out of range, a model fitted in one process, a device this
            machine lacks, or more processes than GPUs.
        WorkspaceError: not a workspace.
    """
    require_number(nproc, "nproc", 1, 1024)
    require_workspace(workspace)
    if model_info(config.model).kind == "classical":
        raise ConfigError(f"{config.model} is fitted in one process: drop --nproc", "model")
    device = resolve_device(config.device)
    if device.type == "cuda" and nproc > torch.cuda.device_count():
        raise ConfigError(f"nproc {nproc} asks for more GPUs than this machine has ({torch.cuda.device_count()})", "nproc")
