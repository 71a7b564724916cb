"""MGC wiring: the targets that reach the loss are the true overlaps of the
cells whose features reach it, and keys come from the teacher.

An image whose pixels hold their own position (channel 0 = x + 0.5,
channel 1 = y + 0.5, in original pixels; channel 2 = the sample's id) goes
through the real ``MGCTwoViewCrop`` (flips on, no photometric transform,
float pixels so that bilinear resizing of the linear ramps is exact),
``PackInputs``, the data preprocessor (identity), and ``MGC.loss`` with its
real grid pooling, pairing, sampling and heads. The backbone is a stand-in
that averages each 4 x 4 patch of the pixels (so every pooled cell carries
the mean original coordinates of its pixels) and adds one channel that
tells the online network (0) from the momentum encoder (1).

The test reads the cells that enter the projectors (forward pre-hooks) and
the targets that enter the head, finds each query and key cell among the
cells of the view it must come from (pooled here, from the views' pixels),
and computes the true overlap areas from the pixel coordinates alone
(centre = mean coordinate, extent from the coordinate variance). The
boxes and flips that the model receives are never used for the truth.
"""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmcv.transforms import Compose
from mmengine.dataset import default_collate
from mmengine.model import BaseModule
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS

SIZE = 32  # view side in pixels
PATCH = 4  # stand-in patch size: an 8 x 8 patch grid
GRANULARITIES = (1, 2, 4)  # 8 x 8, 4 x 4 and 2 x 2 cells
NUM_SAMPLES = (3, 3, 2)
BATCH = 8
IMAGE = 256  # original side


@MODELS.register_module(force=True)
class WiringCoordBackbone(BaseModule):
    """Patch means of the pixels, plus a branch tag channel."""

    #: Output channels (x, y, sample id, tag): MGC checks its neck's
    #: ``in_channels`` against the backbone's ``embed_dims`` at build time.
    embed_dims = 4

    def __init__(self, patch_size: int = PATCH) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.tag = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        feats = F.avg_pool2d(x.float(), self.patch_size)
        tag = self.tag.view(1, 1, 1, 1).expand(feats.shape[0], 1,
                                               *feats.shape[2:])
        return (torch.cat([feats, tag], 1), )


def position_image(sample_id: int) -> np.ndarray:
    y, x = np.mgrid[0:IMAGE, 0:IMAGE].astype(np.float32)
    return np.stack([x + 0.5, y + 0.5,
                     np.full_like(x, float(sample_id))],
                    axis=2)


def build_model():
    cfg = dict(
        type='MGC',
        granularities=GRANULARITIES,
        num_samples=NUM_SAMPLES,
        ema_decay=0.99,
        data_preprocessor=dict(
            type='SelfSupDataPreprocessor',
            mean=[0., 0., 0.],
            std=[1., 1., 1.],
            to_rgb=False),
        backbone=dict(type='WiringCoordBackbone'),
        neck=dict(
            type='MGCProjectionNeck',
            in_channels=4,
            hid_channels=16,
            out_channels=8),
        head=dict(
            type='MGCHead', in_channels=8, hid_channels=16, out_channels=8))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    with torch.no_grad():
        model.teacher.module[0].tag.fill_(1.0)
    return model


def make_batch(seed: int = 0):
    np.random.seed(seed)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose([
            dict(
                type='MGCTwoViewCrop',
                size=SIZE,
                scale=(0.2, 1.0),
                flip_prob=0.5,
                min_overlap=0.2,
                view_pipelines=[[], []]),
            dict(
                type='PackInputs', algorithm_keys=['view_boxes',
                                                   'view_flips']),
        ])
    samples = [pipeline(dict(img=position_image(i))) for i in range(BATCH)]
    return default_collate(samples)


def view_cells(view: torch.Tensor, c: int):
    """Cells of one view (3, S, S) from its pixels, in float64: per cell
    (row-major) its centre (x, y) and extent (w, h) in original pixels."""
    v = view.double()
    n = c * PATCH  # pixels per cell side
    g = SIZE // n
    cells = []
    for r in range(g):
        for col in range(g):
            block = v[:, r * n:(r + 1) * n, col * n:(col + 1) * n]
            centre = block[:2].mean(dim=(1, 2))
            var = block[:2].var(dim=(1, 2), unbiased=False)
            # n equally spaced samples, spacing s: var = s^2 (n^2 - 1) / 12
            extent = n * torch.sqrt(12 * var / (n * n - 1))
            cells.append((centre.numpy(), extent.numpy()))
    return cells


def overlap(a, b) -> float:
    (ca, ea), (cb, eb) = a, b
    lo = np.maximum(ca - ea / 2, cb - eb / 2)
    hi = np.minimum(ca + ea / 2, cb + eb / 2)
    return float(np.prod(np.clip(hi - lo, 0, None)))


def find_cell(token, cells) -> int:
    """Index of the cell whose centre the pooled token carries."""
    dist = [np.abs(token[:2] - centre).max() for centre, _ in cells]
    best = int(np.argmin(dist))
    assert dist[best] < 1e-2, (
        f'a pooled cell at {token[:2]} is not a cell of the expected view')
    return best


def run_and_capture(model, batch):
    """MGC.loss on the batch; per granularity the query tokens (online
    projector input), key tokens (momentum projector input) and the
    targets handed to the head."""
    record = dict(q=[], k=[], targets=[])
    hooks = [
        model.neck.register_forward_pre_hook(
            lambda m, args: record['q'].append(args[0][0].detach())),
        model.teacher.module[1].register_forward_pre_hook(
            lambda m, args: record['k'].append(args[0][0].detach())),
    ]
    head_loss = model.head.loss

    def spy(queries, keys, targets, index, num_images):
        record['targets'].append([t.detach() for t in targets])
        return head_loss(queries, keys, targets, index, num_images)

    model.head.loss = spy
    try:
        data = model.data_preprocessor(copy.copy(batch), True)
        losses = model.loss(data['inputs'], data['data_samples'])
    finally:
        for h in hooks:
            h.remove()
        model.head.loss = head_loss
    return data, losses, record


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_targets_are_true_overlaps_and_keys_come_from_the_teacher(seed):
    model = build_model()
    batch = make_batch(seed)
    flips = np.stack([ds.view_flips for ds in batch['data_samples']])
    assert flips[:, 0].any() and not flips[:, 0].all()  # both flip states
    assert flips[:, 1].any() and not flips[:, 1].all()
    data, losses, record = run_and_capture(model, batch)
    assert all(torch.isfinite(v) for v in losses.values())
    views = data['inputs']
    assert len(record['targets']) == len(GRANULARITIES)
    checked = 0
    for index, c in enumerate(GRANULARITIES):
        cells = [[view_cells(views[v][b], c) for b in range(BATCH)]
                 for v in range(2)]
        targets = record['targets'][index]
        q_tok = record['q'][index].split([t.shape[0] for t in targets])
        k_tok = record['k'][index].split([t.shape[1] for t in targets])
        assert len(targets) == 2  # both directions
        for (qv, kv), q, k, t in zip(((0, 1), (1, 0)), q_tok, k_tok, targets):
            q, k, t = q.numpy(), k.numpy(), t.double().numpy()
            assert q.shape[0] > 0 and k.shape[0] > 0
            # queries from the online branch, keys from the teacher
            assert np.all(q[:, 3] == 0.0)
            assert np.all(k[:, 3] > 0.9)
            q_img = np.rint(q[:, 2]).astype(int)
            k_img = np.rint(k[:, 2]).astype(int)
            # each query cell is a cell of the query view, each key cell
            # one of the key view (found by its pixel coordinates)
            q_cell = [find_cell(tok, cells[qv][b]) for tok, b in zip(q, q_img)]
            k_cell = [find_cell(tok, cells[kv][b]) for tok, b in zip(k, k_img)]
            for r in range(q.shape[0]):
                b, rect = q_img[r], cells[qv][q_img[r]][q_cell[r]]
                # Eq. 2: normalised over EVERY cell of the key view
                total = sum(overlap(rect, other) for other in cells[kv][b])
                assert total > 0  # a query overlaps the other view
                truth = np.array([
                    overlap(rect, cells[kv][kb][kc]) /
                    total if kb == b else 0.0 for kb, kc in zip(k_img, k_cell)
                ])
                np.testing.assert_allclose(t[r], truth, atol=1e-4)
                checked += 1
    assert checked >= BATCH * sum(NUM_SAMPLES)
