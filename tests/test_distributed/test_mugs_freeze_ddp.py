"""Two gloo processes on CPU, DDP without ``find_unused_parameters``: the
last-layer freeze (gradients dropped before the optimiser step) neither
breaks the gradient reduction nor lets the prototypes move while frozen;
afterwards both ranks step them identically."""
import socket

import pytest
import torch

FROZEN_STEPS = 2
STEPS = 4


def _batch(rank, step):
    from mmpretrain.structures import DataSample

    from tests._utils.mugs_fixtures import random_crops
    g = torch.Generator().manual_seed(100 * step + rank)
    crops = [(c * 64 + 128).clamp(0, 255)
             for c in random_crops(batch=3, num_local=1, generator=g)]
    samples = []
    for i in range(3):
        ds = DataSample()
        ds.set_field(bool(i % 2), 'mugs_weak')
        samples.append(ds)
    return dict(inputs=crops, data_samples=samples)


class _Runner:

    def __init__(self, model, optim_wrapper):
        self.model, self.optim_wrapper = model, optim_wrapper
        self.epoch = self.iter = 0
        self.train_loop = None


def _worker(rank, world, port, out):
    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import mmmgc  # noqa: F401
    from mmmgc.engine.hooks import MugsFreezeLastLayerHook
    from tests._utils.mugs_fixtures import build_tiny_mugs, silence_init_logs
    torch.set_num_threads(1)
    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{port}',
        rank=rank,
        world_size=world)
    init_default_scope('mmpretrain')
    silence_init_logs()
    torch.manual_seed(0)
    model = build_tiny_mugs(queue_length=50, buffer_length=7)
    ddp = MMDistributedDataParallel(
        module=model, broadcast_buffers=False, find_unused_parameters=False)
    optim_wrapper = build_optim_wrapper(
        ddp,
        dict(
            type='PerParamClipOptimWrapper',
            max_norm=3.0,
            optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.04)))
    hook = MugsFreezeLastLayerHook(
        freeze_epochs=None, freeze_iters=FROZEN_STEPS)
    runner = _Runner(ddp, optim_wrapper)
    hook.before_train(runner)
    v = model.group_head.last_layer.weight_v
    rows = []
    ddp.train()
    for step in range(STEPS):
        runner.iter = step
        hook.before_train_iter(runner, step)
        ddp.train_step(_batch(rank, step), optim_wrapper)
        state = optim_wrapper.optimizer.state.get(v, {})
        rows.append((v.detach().clone(), int(state.get('step', 0))))
    hook.after_train(runner)
    out[rank] = rows
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_freeze_under_ddp():
    import torch.multiprocessing as mp

    from tests._utils.mugs_fixtures import build_tiny_mugs, silence_init_logs
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_worker, args=(2, port, out), nprocs=2, join=True)
    silence_init_logs()
    torch.manual_seed(0)
    v0 = build_tiny_mugs(
        queue_length=50, buffer_length=7).group_head.last_layer.weight_v
    r0, r1 = out[0], out[1]
    for step in range(STEPS):
        assert torch.equal(r0[step][0], r1[step][0])  # same on both ranks
        if step < FROZEN_STEPS:
            assert torch.equal(r0[step][0], v0.detach())
            assert r0[step][1] == 0
        else:
            assert r0[step][1] == step - FROZEN_STEPS + 1
    assert not torch.equal(r0[-1][0], v0.detach())
