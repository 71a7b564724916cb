"""Models, batches and train steps shared by the step-time benchmarks
(``tools/benchmarks/step_time.py`` on the CPU,
``tools/benchmarks/gpu_bench.py`` on a GPU).

Every method is measured against mmpretrain's MoCo v3 on the SAME backbone,
crops and batch:

- MGC against two-view MoCo v3 (``MoCoV3.train_step``);
- Mugs against a multi-crop MoCo v3 on Mugs' own crops
  (:func:`mocov3_multicrop_loss`: base encoder on the student crops,
  momentum encoder on the teacher crops, every pair).

Scales:

- ``demo``: the demo recipes (tiny ViT, 64 px), one batch of their real
  pipeline output; Mugs with the paper's 10 local crops.
- ``vits``: the paper configs (ViT-S/16, 224 px; Mugs with 2 + 2 global
  224 px and 10 local 96 px crops, the paper's head widths, 65,536
  prototypes, queues and neighbour buffer). Their datasets (ImageNet,
  COCO) are replaced by 224 px :class:`FashionMNISTScenes` run through the
  config's own crop pipeline, so the crops are real pipeline output. The
  MoCo v3 baseline uses the method's backbone (class-token output) with
  MoCo v3's ViT heads (projector 384-4096-4096-256, predictor
  256-4096-256, BN, temperature 0.2).
- ``tiny``: the demo recipes with a batch of 2 and 2 local crops (the CPU
  smoke test of ``gpu_bench.py``).
"""
import copy
import os.path as osp
import time
from contextlib import contextmanager
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn


def _configs_root() -> str:
    """The folder whose ``configs/`` the benchmarks read: the source tree
    of this package, or ``mmmgc/.mim`` of an installed wheel."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for root in (osp.dirname(package), osp.join(package, '.mim')):
        if osp.isdir(osp.join(root, 'configs')):
            return root
    return osp.dirname(package)


#: The folder holding ``configs/`` (see :func:`_configs_root`).
REPO = _configs_root()

MOCOV3_DEMO = 'configs/mocov3/mocov3_vit-tiny-p8_demo.py'
SCALES = {
    'demo':
    dict(
        mgc='configs/mgc/mgc_demo.py',
        mugs='configs/mugs/mugs_demo.py',
        num_local=10,
        batch=None),
    'tiny':
    dict(
        mgc='configs/mgc/mgc_demo.py',
        mugs='configs/mugs/mugs_demo.py',
        num_local=2,
        batch=2),
    'vits':
    dict(
        mgc='configs/mgc/mgc_vit-small-p16_8xb32-coslr-200e_in1k.py',
        mugs='configs/mugs/mugs_vit-small-p16_16xb64-300e_in1k.py',
        num_local=10,
        batch=4),
}
#: ``--optimizer``: how AdamW runs, set alike for the method and MoCo v3.
OPTIMIZER_IMPLS = ('config', 'loop', 'foreach', 'fused')


def mocov3_multicrop_loss(model, inputs, num_global: int = 2) -> dict:
    """MoCo v3's loss on Mugs' crops: queries from the student crops
    ``inputs[num_global:]``, keys from the teacher crops
    ``inputs[:num_global]``, every (teacher t, student s != t) pair.

    mmpretrain's ``MoCoV3`` only takes two views; this is its loss on the
    same crops as a Mugs step: the base encoder on the student crops (one
    pass per resolution, as Mugs), the momentum encoder on the teacher
    crops, InfoNCE (``model.head.loss``) per pair, averaged.
    """
    student = list(inputs[num_global:])
    queries, start = [], 0
    while start < len(student):  # one pass per resolution, as Mugs
        end = start + 1
        while (end < len(student)
               and student[end].shape[-2:] == student[start].shape[-2:]):
            end += 1
        q = model.neck(model.backbone(torch.cat(student[start:end])))[0]
        queries += list(q.chunk(end - start))
        start = end
    with torch.no_grad():
        model.momentum_encoder.update_parameters(
            nn.Sequential(model.backbone, model.neck))
        keys = model.momentum_encoder(torch.cat(list(
            inputs[:num_global])))[0].chunk(num_global)
    losses = [
        model.head.loss(q, keys[t]) for t in range(num_global)
        for s, q in enumerate(queries) if s != t
    ]
    return dict(loss=sum(losses) / len(losses))


def setup_mm() -> None:
    """Silence mmengine and fill in the iteration counters that the EMA
    schedules read (outside a Runner nobody does)."""
    from mmengine.logging import MessageHub, MMLogger
    MMLogger.get_instance('mmengine', log_level='ERROR')
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 0)
    hub.update_info('max_iters', 1000)


def _fashion_dataset(cfg_dataset, img_size: int, num: int):
    """``FashionMNISTScenes`` of ``img_size`` px through the crop pipeline
    of a config dataset (its image-loading transforms dropped)."""
    pipeline = [t for t in cfg_dataset['pipeline'] if 'Load' not in t['type']]
    return dict(
        type='FashionMNISTScenes',
        num_samples=max(num, 1),
        img_size=img_size,
        seed=0,
        pipeline=pipeline)


def _mocov3_cfg(method_cfg, scale: str):
    """The MoCo v3 baseline config for ``method_cfg`` at ``scale``."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, MOCOV3_DEMO))
    if scale != 'vits':
        return cfg
    bb = copy.deepcopy(method_cfg.model.backbone)
    bb['out_type'] = 'cls_token'
    bb.pop('out_indices', None)
    dim = 384
    cfg.model.backbone = bb
    cfg.model.neck.update(in_channels=dim, hid_channels=4096, out_channels=256)
    cfg.model.head.predictor.update(
        in_channels=256, hid_channels=4096, out_channels=256)
    return cfg


def _apply_optimizer_impl(cfg, impl: str) -> None:
    opt = cfg.optim_wrapper.optimizer
    if impl == 'config':
        return
    for key in ('foreach', 'fused'):
        opt.pop(key, None)
    if impl == 'loop':
        opt['foreach'] = False
    elif impl == 'foreach':
        opt['foreach'] = True
    elif impl == 'fused':
        opt['fused'] = True
    else:
        raise ValueError(f'--optimizer must be one of {OPTIMIZER_IMPLS}, '
                         f'got {impl!r}')


def _build(cfg, dataset_cfg, batch_size: int, device, amp: bool):
    from mmengine.dataset import default_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS, MODELS
    if amp:
        from ..engine import set_amp
        set_amp(cfg)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        batch = None
        if dataset_cfg is not None:
            ds = DATASETS.build(dataset_cfg)
            batch = default_collate([ds[i] for i in range(batch_size)])
        model = MODELS.build(cfg.model).to(device)
        model.init_weights()
        model.train()
        ow = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, ow, batch


@torch.no_grad()
def fill_queues_(model: torch.nn.Module, seed: int = 0) -> None:
    """Fill every :class:`FeatureQueue` of ``model`` with random unit rows
    and mark it full, as after the first ``length / batch`` steps of a run:
    Mugs' neighbour search covers only the filled rows of its buffers, so
    a fresh model would time a search over a few rows instead of 65,536."""
    from ..models.utils.queue import FeatureQueue
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, FeatureQueue):
            rows = torch.randn(m.queue.shape, generator=gen)
            m.queue.copy_(torch.nn.functional.normalize(rows, dim=1))
            m.num_filled.fill_(m.length)
            m.ptr.zero_()


class Bench:
    """A method and its MoCo v3 baseline, built on the same batch.

    ``fill_buffers`` (default True) fills Mugs' queues and neighbour
    buffers first (:func:`fill_queues_`), so that steps are timed as in
    the steady state of a run. For Mugs, ``num_local`` (default: the
    scale's) sets the local crops per image, ``queue_length`` (default:
    the config's) the length of both queues and the neighbour buffer, and
    ``aggregator_depth`` (default: the config's) the aggregator depth.

    Attributes:
        name (str): ``'mgc'`` or ``'mugs'``.
        step (dict): ``{'method': fn, 'mocov3': fn}``, each running one
            full train step (data preprocessor, forward, backward,
            optimiser step, EMA and queue updates).
        models (dict): The two models.
        wrappers (dict): Their optim wrappers.
        batch_size (int): Images per step.
        num_crops (int): Crops per image that the step's forward sees.
    """

    def __init__(self,
                 name: str,
                 scale: str = 'demo',
                 batch_size: Optional[int] = None,
                 device: str = 'cpu',
                 optimizer: str = 'config',
                 amp: bool = False,
                 config: Optional[str] = None,
                 aggregator_depth: Optional[int] = None,
                 fill_buffers: bool = True,
                 num_local: Optional[int] = None,
                 queue_length: Optional[int] = None) -> None:
        from mmengine.config import Config
        if scale not in SCALES:
            raise ValueError(f'scale must be one of {sorted(SCALES)}, got '
                             f'{scale!r}')
        if name not in ('mgc', 'mugs'):
            raise ValueError(f"method must be 'mgc' or 'mugs', got {name!r}")
        setup_mm()
        spec = SCALES[scale]
        self.name, self.scale = name, scale
        self.device = torch.device(device)
        cfg = Config.fromfile(osp.join(REPO, config or spec[name]))
        bs = batch_size or spec['batch'] or cfg.train_dataloader.batch_size
        ds_cfg = cfg.train_dataloader.dataset
        if name == 'mugs':
            crop = [
                t for t in ds_cfg.pipeline if t['type'] == 'MugsMultiCrop'
            ][0]
            crop['num_local_crops'] = (
                spec['num_local'] if num_local is None else num_local)
            if aggregator_depth is not None:
                cfg.model.neck.num_layers = aggregator_depth
            if queue_length is not None:
                cfg.model.neighbour_buffer_length = queue_length
                cfg.model.instance_head.queue_length = queue_length
                cfg.model.local_group_head.queue_length = queue_length
        if scale == 'tiny':  # only the scenes that are used
            ds_cfg['num_samples'] = bs
        if scale == 'vits':
            ds_cfg = _fashion_dataset(ds_cfg, 256, bs)
            if cfg.model.backbone.type == 'VisionTransformer':
                # ViT-S/16 (384 wide, 12 x 6 heads) is mmpretrain's
                # 'deit-small'; its 'small' is 768 wide
                cfg.model.backbone.arch = 'deit-small'
        moco_cfg = _mocov3_cfg(cfg, scale)
        _apply_optimizer_impl(cfg, optimizer)
        _apply_optimizer_impl(moco_cfg, optimizer)
        torch.manual_seed(0)
        method, method_ow, batch = _build(cfg, ds_cfg, bs, self.device, amp)
        moco_ds = None if name == 'mugs' else ds_cfg
        moco, moco_ow, moco_batch = _build(moco_cfg, moco_ds, bs, self.device,
                                           amp)
        if moco_batch is None:
            moco_batch = batch
        if fill_buffers:
            fill_queues_(method)
        self.models = dict(method=method, mocov3=moco)
        self.wrappers = dict(method=method_ow, mocov3=moco_ow)
        self.batch_size = bs
        self.num_crops = len(batch['inputs'])
        self.config = config or spec[name]
        self.step: Dict[str, Callable[[], None]] = dict(
            method=lambda: method.train_step(copy.copy(batch), method_ow))
        if name == 'mugs':

            def moco_step():
                with moco_ow.optim_context(moco):
                    data = moco.data_preprocessor(copy.copy(moco_batch), True)
                    losses = mocov3_multicrop_loss(moco, data['inputs'])
                loss, _ = moco.parse_losses(losses)
                moco_ow.update_params(loss)

            self.step['mocov3'] = moco_step
        else:
            self.step['mocov3'] = lambda: moco.train_step(
                copy.copy(moco_batch), moco_ow)

    def sync(self) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)

    def timed(self, which: str, clock: Callable[[], float]) -> float:
        """One train step of ``which``, in seconds of ``clock``."""
        self.sync()
        t0 = clock()
        self.step[which]()
        self.sync()
        return clock() - t0

    def flops(self, which: str) -> int:
        """FLOPs of one train step (forward, backward, optimiser), counted
        by ``torch.utils.flop_counter.FlopCounterMode``."""
        from torch.utils.flop_counter import FlopCounterMode
        counter = FlopCounterMode(display=False)
        with counter:
            self.step[which]()
        return int(counter.get_total_flops())


# --------------------------------------------------------------------------
# where the time goes: segments of a train step


@contextmanager
def step_segments(bench: Bench, clock: Callable[[], float]):
    """Time the parts of a train step that are not forward/backward
    arithmetic, by wrapping the functions that do them.

    Yields a dict ``{segment: seconds}`` (accumulated while active):
    ``ema`` (teacher / momentum-encoder update), ``optimizer`` (the
    optimiser step, per-parameter clipping included), ``zero_grad``,
    ``queues`` (queue snapshots and writes, centre update), ``backward``;
    and two parts of the forward pass: ``pairs`` (MGC's correspondence
    targets and sampling, ``MGC.compute_pairs``) and ``neighbours`` (Mugs'
    top-k search). Everything but the first five is ``forward``.
    """
    from mmengine.model import ExponentialMovingAverage
    from mmengine.optim import OptimWrapper

    from ..models.heads import mugs_group_head as group_mod
    from ..models.selfsup import MGC
    from ..models.selfsup import mugs as mugs_mod
    from ..models.utils import ema as ema_mod
    from ..models.utils.queue import FeatureQueue
    acc: Dict[str, float] = {}
    active: set = set()  # nested calls of one segment count once
    patches = []

    def wrap(owner, attr: str, key: str) -> None:
        original = getattr(owner, attr)

        def timed(*a, **k):
            if key in active:
                return original(*a, **k)
            active.add(key)
            bench.sync()
            t0 = clock()
            try:
                return original(*a, **k)
            finally:
                bench.sync()
                acc[key] = acc.get(key, 0.0) + clock() - t0
                active.discard(key)

        setattr(owner, attr, timed)
        patches.append((owner, attr, original))

    wrap(ema_mod.EMATeacher, 'update', 'ema')
    wrap(ExponentialMovingAverage, 'update_parameters', 'ema')
    for ow in bench.wrappers.values():
        wrap(ow.optimizer, 'step', 'optimizer')
        if type(ow).step is not OptimWrapper.step:  # clipping wrappers
            wrap(ow, 'step', 'optimizer')
        wrap(ow, 'zero_grad', 'zero_grad')
        wrap(ow, 'backward', 'backward')
    wrap(FeatureQueue, 'enqueue', 'queues')
    wrap(FeatureQueue, 'get', 'queues')
    wrap(group_mod.MugsGroupHead, 'update_center', 'queues')
    # parts of the forward pass, reported alone
    wrap(MGC, 'compute_pairs', 'pairs')
    wrap(mugs_mod, 'mugs_topk_neighbours', 'neighbours')
    try:
        yield acc
    finally:
        for owner, attr, original in reversed(patches):
            setattr(owner, attr, original)


def fixed_cost_breakdown(bench: Bench, which: str, iters: int,
                         clock: Callable[[], float]) -> Dict[str, float]:
    """Median seconds per segment (see :func:`step_segments`) over
    ``iters`` steps of ``which``; ``fixed`` = ema + optimizer + zero_grad
    + queues (the step minus its forward and backward passes)."""
    import statistics
    rows: List[Dict[str, float]] = []
    for _ in range(iters):
        with step_segments(bench, clock) as acc:
            total = bench.timed(which, clock)
        row = dict(acc)
        row['total'] = total
        rows.append(row)
    keys = ('ema', 'optimizer', 'zero_grad', 'queues', 'backward', 'pairs',
            'neighbours')
    out = {k: statistics.median(r.get(k, 0.0) for r in rows) for k in keys}
    out['total'] = statistics.median(r['total'] for r in rows)
    out['fixed'] = sum(out[k]
                       for k in ('ema', 'optimizer', 'zero_grad', 'queues'))
    out['forward'] = out['total'] - out['fixed'] - out['backward']
    return out


def now() -> str:
    """The current UTC time, as the benchmark reports print it."""
    return time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())


__all__ = [
    'MOCOV3_DEMO', 'SCALES', 'OPTIMIZER_IMPLS', 'mocov3_multicrop_loss',
    'setup_mm', 'fill_queues_', 'Bench', 'step_segments',
    'fixed_cost_breakdown', 'now'
]
