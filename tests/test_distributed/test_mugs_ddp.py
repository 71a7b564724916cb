"""Two gloo processes on CPU: Mugs' queues, neighbour buffers and centre are
identical on both ranks and hold the rank-ordered global batch."""
import socket

import pytest
import torch

WEAK = {0: [True, False, True], 1: [False, False, True]}


def _crops(rank, step):
    from tests._utils.mugs_fixtures import random_crops
    g = torch.Generator().manual_seed(100 * step + rank)
    return random_crops(batch=3, num_local=1, generator=g)


def _samples(rank):
    from mmpretrain.structures import DataSample
    out = []
    for w in WEAK[rank]:
        ds = DataSample()
        ds.set_field(w, 'mugs_weak')
        out.append(ds)
    return out


def _worker(rank, world, port, out):
    import torch.distributed as dist

    import mmmgc  # noqa: F401
    from tests._utils.mugs_fixtures import build_tiny_mugs, silence_init_logs
    torch.set_num_threads(1)
    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{port}',
        rank=rank,
        world_size=world)
    silence_init_logs()
    torch.manual_seed(0)
    model = build_tiny_mugs(queue_length=50, buffer_length=7)
    model.eval()  # no drop path: the parent recomputes the same tokens
    for step in range(2):
        with torch.no_grad():
            model.teacher.update(model._teacher_source(), 0, 10)
            model.loss(_crops(rank, step), _samples(rank))
    out[rank] = {
        k: v.clone()
        for k, v in model.state_dict().items()
        if k.endswith(('queue', 'ptr', 'num_filled', 'center'))
    }
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_gloo_queues_identical_and_global():
    import torch.multiprocessing as mp

    from tests._utils.mugs_fixtures import build_tiny_mugs, silence_init_logs
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_worker, args=(2, port, out), nprocs=2, join=True)
    r0, r1 = out[0], out[1]
    assert set(r0) == set(r1) and len(r0) >= 13
    for k in r0:
        assert torch.equal(r0[k], r1[k]), k  # identical on both ranks
    # 2 steps x 2 ranks x 3 images = 12 teacher tokens into 7 slots
    assert int(r0['teacher_buffer.num_filled']) == 7
    assert int(r0['teacher_buffer.ptr']) == 12 % 7
    # the student buffer gathers different counts per rank (2 + 1 weak)
    assert int(r0['student_buffer.num_filled']) == 6
    assert int(r0['instance_head.queue.num_filled']) == 24
    # contents: the rank-ordered teacher tokens, written FIFO
    silence_init_logs()
    torch.manual_seed(0)
    ref = build_tiny_mugs(queue_length=50, buffer_length=7)
    ref.eval()
    rows = []
    for step in range(2):
        for rank in (0, 1):
            with torch.no_grad():
                tok = ref.teacher.module.backbone(_crops(rank, step)[0])[-1]
            rows.append(tok[:, 1:].mean(1))
    rows = torch.cat(rows)
    expected = torch.empty(7, rows.shape[1])
    for i in range(5, 12):
        expected[i % 7] = rows[i]
    assert torch.allclose(r0['teacher_buffer.queue'], expected, atol=1e-5)
