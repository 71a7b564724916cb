"""Every MGC and Mugs pretraining config at its real size: no width, depth,
queue or prototype count swapped in. The backbone's parameter count matches
the papers' (ViT-S/16 21.7M, ViT-B/16 85.8M, ViT-L/16 303M, within 1 %);
one real train step on CPU at batch 2 runs through the config's own
dataset type, pipeline, model and optimiser wrapper over a small generated
image folder (only the data paths, batch size and worker count are
overridden); for ViT-L a forward pass of its crops stands in for the step.
After the step, two teacher forwards of the same image in train mode are
identical (no drop path or dropout in the teacher, whatever the student's
rate)."""
import copy
import glob
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from mmpretrain.registry import MODELS
from PIL import Image

from tests._utils import REPO_ROOT

CONFIGS = sorted(
    p for d in ('mgc', 'mugs')
    for p in glob.glob(osp.join(REPO_ROOT, 'configs', d, f'{d}_*.py'))
    if not osp.basename(p).startswith(f'{d}_demo'))

#: Backbone parameters stated by the papers, by width.
PAPER_PARAMS = {384: 21.7e6, 768: 85.8e6, 1024: 303e6}
#: A full step of ViT-L on CPU takes minutes: its crops are only forwarded.
FORWARD_ONLY = ('mugs_vit-large-p16_40xb16-250e_in1k.py', )


def test_every_pretraining_config_is_covered():
    names = {osp.basename(p) for p in CONFIGS}
    assert len([n for n in names if n.startswith('mgc_')]) == 5
    assert len([n for n in names if n.startswith('mugs_')]) == 5


@pytest.fixture(scope='module')
def image_data(tmp_path_factory) -> dict:
    """Four JPEGs in a folder, and two VOC-style roots with two each."""
    root = tmp_path_factory.mktemp('full_size_data')
    rng = np.random.default_rng(0)

    def jpeg(path, seed):
        # smooth random colours, 320 x 256
        small = np.random.default_rng(seed).integers(
            0, 256, (8, 10, 3), dtype=np.uint8)
        Image.fromarray(small).resize((320, 256),
                                      Image.BILINEAR).save(path, 'JPEG')

    folder = root / 'images'
    folder.mkdir()
    for i in range(4):
        jpeg(folder / f'{i}.jpg', int(rng.integers(1 << 30)))
    vocs = []
    for year in ('VOC2007', 'VOC2012'):
        voc = root / year
        for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
            (voc / sub).mkdir(parents=True)
        ids = [f'{year}_{i}' for i in range(2)]
        for i in ids:
            jpeg(voc / 'JPEGImages' / f'{i}.jpg', int(rng.integers(1 << 30)))
            (voc / 'Annotations' / f'{i}.xml').write_text(
                '<annotation><object><name>dog</name><difficult>0'
                '</difficult></object></annotation>')
        (voc / 'ImageSets/Main/trainval.txt').write_text('\n'.join(ids))
        vocs.append(str(voc))
    return dict(folder=str(folder), voc=vocs)


def _point_at(dataset: dict, data: dict) -> None:
    """Only the data paths change."""
    if dataset['type'] == 'ConcatDataset':
        vocs = iter(data['voc'])
        for d in dataset['datasets']:
            assert d['type'] == 'VOC'
            d['data_root'] = next(vocs)
        return
    assert dataset['type'] == 'UnlabeledImageFolder', dataset['type']
    dataset['data_root'] = data['folder']


def _width(model) -> int:
    return int(model.backbone.embed_dims)


def _teacher_backbone(model):
    if type(model).__name__ == 'MGC':
        return model.teacher.module[0]
    return model.teacher.module.backbone


def _check_sizes(cfg: Config, model) -> None:
    """Queues, buffers and prototypes as configured (the paper's)."""
    m = cfg.model
    if m.type == 'Mugs':
        assert model.group_head.center.shape[-1] == \
            m.group_head.num_prototypes == 65536
        for head in ('instance_head', 'local_group_head'):
            assert getattr(model, head).queue.queue.shape[0] == \
                m[head].queue_length == 65536
        assert model.teacher_buffer.queue.shape[0] == \
            m.neighbour_buffer_length == 65536
    else:
        assert model.granularities == (1, 2, 7)
        assert model.num_samples == (10, 10, 2)


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_full_size_config_builds_and_trains(path, image_data):
    name = osp.basename(path)
    cfg = Config.fromfile(path)
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    _point_at(loader_cfg['dataset'], image_data)
    loader_cfg.update(
        batch_size=2,
        num_workers=0,
        persistent_workers=False,
        pin_memory=False)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    width = _width(model)
    params = sum(p.numel() for p in model.backbone.parameters())
    expected = PAPER_PARAMS[width]
    assert abs(params - expected) / expected < 0.01, (name, params)
    if 'small' in name:
        assert width == 384 and len(model.backbone.layers) == 12
    _check_sizes(cfg, model)
    model.init_weights()

    data = next(iter(Runner.build_dataloader(loader_cfg)))
    model.train()
    if name in FORWARD_ONLY:
        with torch.no_grad():
            batch = model.data_preprocessor(data, True)
            losses = model(**batch, mode='loss')
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
    else:
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        probe = model.backbone.layers[-1].ffn.layers[1].weight
        before = probe.detach().clone()
        log = model.train_step(data, optim_wrapper)
        total = log['loss']
        assert not torch.equal(before, probe.detach()), name
    assert math.isfinite(
        float(total)), (name, losses if name in FORWARD_ONLY else log)

    # the teacher is deterministic in train mode, whatever the student's
    # drop path rate
    image = data['inputs'][0][:1].float()
    image = (image - 128.0) / 64.0
    teacher = _teacher_backbone(model)
    with torch.no_grad():
        torch.manual_seed(1)
        a = teacher(image)[-1]
        torch.manual_seed(2)
        b = teacher(image)[-1]
    assert torch.equal(a, b), name
