"""DistributedDataParallel: the compiled resnet18 spec trains two steps in two CPU processes
(gloo, launched as torchrun would: MASTER_ADDR/PORT, RANK, WORLD_SIZE) and both replicas end
with identical parameters, having started from different random initialisations."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import netdsl
from tests.conftest import SPECS

pytestmark = pytest.mark.slow  # two processes training a model


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(rank: int, world: int, port: int, folder: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    try:
        torch.manual_seed(rank)  # different starting weights: DDP must broadcast rank 0's
        model = netdsl.build(SPECS / "resnet18.net", classes=10)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
        for step in range(2):
            generator = torch.Generator().manual_seed(100 * step + rank)  # different data
            x = torch.randn(4, 3, 32, 32, generator=generator)
            y = torch.randint(0, 10, (4,), generator=generator)
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(ddp(x), y).backward()
            optimizer.step()
        # parameters only: BN running statistics are each replica's own data after the last
        # forward (DDP broadcasts buffers at the start of a forward, as torch documents)
        params = {name: p.detach() for name, p in model.named_parameters()}
        torch.save(params, Path(folder) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_ddp_two_processes_end_identical(tmp_path: Path) -> None:
    mp.spawn(_train, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    first = torch.load(tmp_path / "rank0.pt")
    second = torch.load(tmp_path / "rank1.pt")
    assert first.keys() == second.keys()
    torch.manual_seed(0)  # rank 0's starting weights
    start = dict(netdsl.build(SPECS / "resnet18.net", classes=10).named_parameters())
    moved = 0
    for name in first:
        assert torch.equal(first[name], second[name]), name
        moved += int(not torch.equal(first[name], start[name].detach()))
    assert moved == len(first)  # every parameter was trained from rank 0's start
