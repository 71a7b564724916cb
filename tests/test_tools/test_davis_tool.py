"""DAVIS label propagation end to end: the config, a tiny ViT checkpoint and
a synthetic sequence in the DAVIS-2017 layout (JPEG frames + palette PNG
masks + ImageSets list)."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from tests._utils import REPO_ROOT
from tests._utils.downstream_data import write_davis
from tests._utils.transfer import (assert_state_from_checkpoint,
                                   set_tiny_backbone, write_vit_checkpoint)

CFG = osp.join(
    REPO_ROOT, 'configs/mugs/benchmarks/davis/'
    'davis2017_vit-base-p16_label-propagation.py')
H, W = 64, 96


@pytest.mark.slow
def test_davis_tool_static_and_moving(tmp_path):
    from mmmgc.evaluation import build_davis_backbone, davis_from_config
    rng = np.random.default_rng(0)
    root = tmp_path / 'DAVIS'
    # a static scene: 2 objects aligned with the 8-px patch grid. Every
    # context frame is identical, so propagation must copy the first mask.
    bg = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    mask = np.zeros((H, W), np.uint8)
    mask[8:32, 16:40] = 1
    mask[40:56, 56:88] = 2
    frame = bg.copy()
    frame[mask == 1] = (220, 30, 30)
    frame[mask == 2] = (30, 220, 30)
    write_davis(root, 'static', [frame] * 4, [mask] * 4)
    # a moving object over noise (scored, no assertion on quality)
    frames, masks = [], []
    for t in range(4):
        f = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
        m = np.zeros((H, W), np.uint8)
        m[16:40, 8 + 8 * t:32 + 8 * t] = 1
        f[m == 1] = (250, 250, 30)
        frames.append(f)
        masks.append(m)
    write_davis(root, 'moving', frames, masks)
    (root / 'ImageSets' / '2017').mkdir(parents=True)
    (root / 'ImageSets' / '2017' / 'val.txt').write_text('static\nmoving\n')

    ckpt = tmp_path / 'backbone.pth'
    sd = write_vit_checkpoint(ckpt, 32)
    cfg = Config.fromfile(CFG)
    assert cfg.propagation == dict(
        n_last_frames=20, topk=5, temperature=0.1, radius=12)
    set_tiny_backbone(cfg.model, ckpt, 32)
    cfg.data.update(data_root=str(root), short_side=H, size_divisor=16)
    cfg.propagation.radius = 3
    cfg.output_dir = str(tmp_path / 'out')

    assert_state_from_checkpoint(build_davis_backbone(cfg).state_dict(), sd)
    res = davis_from_config(cfg)
    assert res['num_sequences'] == 2
    static = res['per_sequence']['static']
    assert sorted(static) == ['1', '2']
    for obj in static.values():
        assert obj['J'] > 90 and obj['F'] > 90, static
    assert 0 <= res['J_mean'] <= 100 and 0 <= res['F_mean'] <= 100
    assert res['JF_mean'] == pytest.approx((res['J_mean'] + res['F_mean']) / 2)
    # predictions written as palette PNGs in the DAVIS results layout
    out = Image.open(tmp_path / 'out' / 'moving' / '00003.png')
    assert out.mode == 'P' and out.size == (W, H)
    assert set(np.unique(np.asarray(out))) <= {0, 1}
