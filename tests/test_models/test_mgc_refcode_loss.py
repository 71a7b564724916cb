"""The reference-code config reproduces the authors' loss formula.

The public code's total loss is, per granularity g with pair count n_g
(10, 10, 2) and per direction d (view 1 -> 2 and 2 -> 1):

    L = sum_g n_g / sum(n) * (L_g,1->2 + L_g,2->1)
    L_g,d = mean over pairs (q, k) of -log softmax_j(cos(p_q, z_j) / tau)[k]

where p = predictor(projector(online cell)) and z = momentum projector
(teacher cell), each head called on ONE view's cells (BN statistics of that
view). The reference below writes that formula out with explicit loops
(cell pooling, overlaps, pairs, softmax), in float64, on the same cells and
pairs, and the refcode-option model must give the same number to 1e-6.
What still differs (which pairs are formed, padding, ...) is listed in the
config's header.
"""
import copy
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from tests._utils import REPO_ROOT
from tests._utils.mgc_reference import brute_force_areas

REFCODE = osp.join(
    REPO_ROOT, 'configs/mgc/mgc_vit-small-p16-8h_8xb32-refcode-800e_coco.py')
PAPER = osp.join(REPO_ROOT,
                 'configs/mgc/mgc_vit-small-p16_8xb32-coslr-800e_coco.py')

# (x, y, w, h) of view 1 and view 2 in original pixels, and the flips; no
# cell edge of one view coincides with one of the other (an area that is
# zero only up to rounding would make the positive set ambiguous)
BOXES = [
    [(10., 21., 203., 151.), (61., 40., 181., 173.)],
    [(0., 3., 121., 89.), (31., 10., 157., 143.)],
    [(53., 30., 101., 97.), (20., 61., 163., 127.)],
]
FLIPS = [(False, True), (True, False), (True, True)]


def tiny_model(path, **head_overrides):
    cfg = Config.fromfile(path)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.arch = dict(
        embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64)
    model_cfg.backbone.drop_path_rate = 0.0
    model_cfg.neck.update(in_channels=32, hid_channels=32, out_channels=16)
    model_cfg.head.update(
        in_channels=16, hid_channels=32, out_channels=16, **head_overrides)
    # every overlapping cell is a query: the pairs are fixed by geometry
    model_cfg.num_samples = (196, 49, 4)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    # a teacher that differs from the student
    with torch.no_grad():
        for p in model.teacher.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.train()
    return model, cfg


def fixed_batch():
    g = torch.Generator().manual_seed(1)
    inputs = [torch.randn(3, 3, 224, 224, generator=g) for _ in range(2)]
    samples = []
    for boxes, flips in zip(BOXES, FLIPS):
        ds = DataSample()
        ds.set_field(np.asarray(boxes, np.float32), 'view_boxes')
        ds.set_field(np.asarray(flips, np.bool_), 'view_flips')
        samples.append(ds)
    return inputs, samples


def pool_cells(featmap, c):
    """(B, C, 14, 14) -> per image a list of cell vectors, cell index
    row * (14 // c) + col, each the mean of its c x c patches (loops)."""
    g = featmap.shape[-1] // c
    out = []
    for b in range(featmap.shape[0]):
        cells = []
        for r in range(g):
            for col in range(g):
                win = featmap[b, :, r * c:(r + 1) * c, col * c:(col + 1) * c]
                cells.append(win.mean(dim=(1, 2)))
        out.append(cells)
    return out


def reference_loss(model, inputs, weights, tau):
    """The public code's formula on the same cells (see module docstring)."""
    student = model.backbone
    teacher, t_neck = model.teacher.module
    boxes = np.asarray(BOXES)
    flips = np.asarray(FLIPS)
    total = 0.0
    with torch.no_grad():
        s_maps = [student(x)[-1].double() for x in inputs]
        t_maps = [teacher(x)[-1].double() for x in inputs]
    for index, c in enumerate(model.granularities):
        areas = brute_force_areas(boxes[:, 0], flips[:, 0], boxes[:, 1],
                                  flips[:, 1], 14, c)  # (B, M1, M2)
        projector = copy.deepcopy(model.neck.projectors[index]).double()
        predictor = copy.deepcopy(model.head.predictors[index]).double()
        t_projector = copy.deepcopy(t_neck.projectors[index]).double()
        s_cells = [pool_cells(m, c) for m in s_maps]
        t_cells = [pool_cells(m, c) for m in t_maps]
        per_direction = []
        for qv, kv in ((0, 1), (1, 0)):
            a = areas if qv == 0 else areas.transpose(0, 2, 1)
            queries, keys = [], []  # (image, cell)
            for b in range(len(BOXES)):
                queries += [(b, i) for i in range(a.shape[1])
                            if a[b, i].sum() > 1e-9]
                keys += [(b, j) for j in range(a.shape[2])
                         if a[b, :, j].sum() > 1e-9]
            with torch.no_grad():
                p = predictor(
                    projector(
                        torch.stack([s_cells[qv][b][i] for b, i in queries])))
                z = t_projector(
                    torch.stack([t_cells[kv][b][j] for b, j in keys]))
            p = torch.nn.functional.normalize(p, dim=1).numpy()
            z = torch.nn.functional.normalize(z, dim=1).numpy()
            terms = []
            for qi, (b, i) in enumerate(queries):
                logits = [
                    float(p[qi] @ z[kj]) / tau for kj in range(len(keys))
                ]
                log_denominator = math.log(sum(math.exp(v) for v in logits))
                for kj, (bk, j) in enumerate(keys):
                    if bk == b and a[b, i, j] > 1e-9:  # one pair, one term
                        terms.append(log_denominator - logits[kj])
            per_direction.append(sum(terms) / len(terms))
        total += weights[index] / sum(weights) * sum(per_direction)
    return total


def test_refcode_config_states_the_public_code_choices():
    cfg = Config.fromfile(REFCODE)
    assert cfg.model.head.granularity_weights == (10, 10, 2)
    assert cfg.model.head.direction_reduction == 'sum'
    assert cfg.model.head.per_direction_bn is True
    crop = cfg.train_dataloader.dataset.pipeline[1]
    assert crop.type == 'MGCTwoViewCrop'
    assert (crop.interpolation, crop.backend) == ('bilinear', 'pillow')
    # the paper's configs keep the paper's choices
    paper = Config.fromfile(PAPER)
    assert 'granularity_weights' not in paper.model.head
    assert 'direction_reduction' not in paper.model.head
    assert paper.model.head.loss.mode == 'soft'


def test_refcode_loss_equals_the_public_formula():
    model, cfg = tiny_model(REFCODE)
    assert model.head.granularity_weights == pytest.approx(
        (10 / 22, 10 / 22, 2 / 22))
    inputs, samples = fixed_batch()
    losses = model.loss(inputs, samples)
    ours = sum(v for k, v in losses.items() if k.startswith('loss_c'))
    ref = reference_loss(model, inputs, (10, 10, 2),
                         cfg.model.head.temperature)
    assert abs(ours.item() - ref) < 1e-6, (ours.item(), ref)
    assert ref > 1.0  # a real contrastive loss, not a degenerate zero

    # each option matters: the paper's choices give another number
    for override in (dict(direction_reduction='mean'),
                     dict(granularity_weights=None),
                     dict(per_direction_bn=False)):
        other, _ = tiny_model(REFCODE, **override)
        value = sum(v for k, v in other.loss(inputs, samples).items()
                    if k.startswith('loss_c')).item()
        assert abs(value - ref) > 1e-3, override


def test_head_options_are_checked():
    from mmmgc.models.heads import MGCHead
    with pytest.raises(ValueError, match='direction_reduction'):
        MGCHead(direction_reduction='max')
    with pytest.raises(ValueError, match='granularity_weights'):
        MGCHead(granularity_weights=(1, 2))
    with pytest.raises(ValueError, match='granularity_weights'):
        MGCHead(granularity_weights=(1, -1, 1))
    head = MGCHead(granularity_weights=(10, 10, 2))
    assert sum(head.granularity_weights) == pytest.approx(1.0)
    assert MGCHead().granularity_weights == (1.0, 1.0, 1.0)


def test_refcode_crop_resizes_like_torchvision_on_pil():
    """The public code's RandomResizedCrop resizes a PIL image bilinearly;
    the refcode crop gives the same pixels for the same box."""
    from PIL import Image
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    from mmmgc.datasets.transforms import MGCTwoViewCrop
    cfg = Config.fromfile(REFCODE)
    crop_cfg = dict(cfg.train_dataloader.dataset.pipeline[1])
    crop_cfg.pop('type')
    crop_cfg['view_pipelines'] = [[], []]
    crop = MGCTwoViewCrop(**crop_cfg)
    rgb = np.random.default_rng(0).integers(0, 255, (300, 400, 3), np.uint8)
    x, y, w, h = 37, 21, 250, 190
    ours = crop.make_view(rgb, (x, y, w, h), False, 0, {})
    theirs = np.asarray(
        TF.resized_crop(
            Image.fromarray(rgb), y, x, h, w, [224, 224],
            InterpolationMode.BILINEAR))
    np.testing.assert_array_equal(ours, theirs)
