"""Known-value tests of the dense (segmentation) and image-level linear
probes used by the CPU benchmark."""
import math

import pytest
import torch

from mmmgc.evaluation import (confusion_matrix, dense_linear_probe,
                              extract_patch_features, fit_linear_probe,
                              iou_per_class, linear_probe_top1, mean_iou,
                              patch_label_distribution)
from mmmgc.evaluation.dense_probe import foreground_iou, upsample_logits
from tests._utils.tiny_vit import tiny_vit_arch


def test_confusion_matrix_and_iou_known_values():
    gt = torch.tensor([[0, 0, 1, 1], [2, 2, 255, 1]])
    pred = torch.tensor([[0, 1, 1, 1], [2, 0, 2, 2]])
    cm = confusion_matrix(pred, gt, 4)
    # rows = gt, cols = pred; the pixel with gt 255 is ignored
    expected = torch.tensor([[1, 1, 0, 0], [0, 2, 1, 0], [1, 0, 1, 0],
                             [0, 0, 0, 0]])
    assert torch.equal(cm, expected)
    iou = iou_per_class(cm)
    assert iou[0].item() == pytest.approx(1 / 3)  # 1 / (2 + 2 - 1)
    assert iou[1].item() == pytest.approx(2 / 4)  # 2 / (3 + 3 - 2)
    assert iou[2].item() == pytest.approx(1 / 3)  # 1 / (2 + 2 - 1)
    assert math.isnan(iou[3].item())  # absent: left out of the mean
    assert mean_iou(cm) == pytest.approx(100 * (1 / 3 + 1 / 2 + 1 / 3) / 3)
    # objects (classes 1-3 merged) vs background 0: gt fg = 5 pixels,
    # predicted fg = 5, both fg = 4 -> 4 / (5 + 5 - 4)
    assert foreground_iou(cm) == pytest.approx(100 * 4 / 6)


def test_confusion_matrix_rejects_bad_ids():
    with pytest.raises(ValueError, match='outside'):
        confusion_matrix(torch.tensor([5]), torch.tensor([0]), 3)
    with pytest.raises(ValueError, match='differ'):
        confusion_matrix(torch.zeros(2), torch.zeros(3), 3)


def test_patch_label_distribution_counts_pixels():
    seg = torch.zeros(1, 4, 4, dtype=torch.long)
    seg[0, 0, 0] = 2  # one pixel of class 2 in the top-left 2x2 patch
    seg[0, 2:, 2:] = 1  # bottom-right patch is all class 1
    seg[0, 0, 2:] = 255  # half of the top-right patch ignored
    dist = patch_label_distribution(seg, 2, 3)
    assert dist.shape == (1, 2, 2, 3)
    assert torch.allclose(dist[0, 0, 0], torch.tensor([0.75, 0., 0.25]))
    assert torch.allclose(dist[0, 1, 1], torch.tensor([0., 1., 0.]))
    assert torch.allclose(dist[0, 0, 1], torch.tensor([1., 0., 0.]))
    with pytest.raises(ValueError, match='multiple'):
        patch_label_distribution(seg, 3, 3)
    with pytest.raises(ValueError, match='outside'):
        patch_label_distribution(seg, 2, 2)


def test_upsample_keeps_constant_logits():
    logits = torch.randn(2, 3, 1, 1).expand(2, 3, 4, 4)
    up = upsample_logits(logits, 16)
    assert up.shape == (2, 3, 16, 16)
    assert torch.allclose(up, logits[:, :, :1, :1].expand(2, 3, 16, 16))


def _synthetic_scenes(n, gen, informative):
    """4x4 patch grid, 4 px patches, 3 classes; the feature of a patch is a
    noisy one-hot code of its class when ``informative``."""
    labels = torch.randint(0, 3, (n, 4, 4), generator=gen)
    seg = labels.repeat_interleave(4, 1).repeat_interleave(4, 2)
    if informative:
        feats = torch.nn.functional.one_hot(labels, 8).float()
        feats = feats + 0.1 * torch.randn(feats.shape, generator=gen)
    else:
        feats = torch.randn(n, 4, 4, 8, generator=gen)
    return feats.permute(0, 3, 1, 2).contiguous(), seg


def test_dense_probe_separates_informative_from_noise_features():
    gen = torch.Generator().manual_seed(0)
    ftr, str_ = _synthetic_scenes(40, gen, True)
    fte, ste = _synthetic_scenes(20, gen, True)
    good = dense_linear_probe(ftr, str_, fte, ste, 3, epochs=30, lr=0.05)
    ntr, _ = _synthetic_scenes(40, gen, False)
    nte, _ = _synthetic_scenes(20, gen, False)
    bad = dense_linear_probe(ntr, str_, nte, ste, 3, epochs=30, lr=0.05)
    # inside each 4x4 patch the labels are constant; bilinear upsampling
    # only blurs the patch borders, so informative features score high
    assert good['mIoU'] > 75
    assert bad['mIoU'] < 45
    assert good['IoU'].shape == (3, )
    assert 0 <= bad['aAcc'] <= 100


def test_fit_linear_probe_learns_and_accepts_soft_targets():
    gen = torch.Generator().manual_seed(1)
    centers = torch.randn(4, 16, generator=gen) * 3
    y = torch.randint(0, 4, (400, ), generator=gen)
    x = centers[y] + torch.randn(400, 16, generator=gen)
    acc = linear_probe_top1(
        x[:300], y[:300], x[300:], y[300:], 4, epochs=30, lr=0.05)
    assert acc > 95
    noise = torch.randn(400, 16, generator=gen)
    acc_noise = linear_probe_top1(
        noise[:300], y[:300], noise[300:], y[300:], 4, epochs=30, lr=0.05)
    assert acc_noise < 50
    soft = torch.nn.functional.one_hot(y[:300], 4).float()
    probe = fit_linear_probe(x[:300], soft, 4, epochs=5)
    assert probe(x[:2]).shape == (2, 4)
    with pytest.raises(ValueError, match='labels outside'):
        fit_linear_probe(x[:3], torch.tensor([0, 1, 7]), 4)


def test_extract_patch_features_from_tiny_vit():
    from mmpretrain.models import VisionTransformer
    vit = VisionTransformer(
        arch=tiny_vit_arch(32, 1, 2),
        img_size=32,
        patch_size=8,
        out_type='raw')
    feats = extract_patch_features(vit, torch.randn(3, 3, 32, 32))
    assert feats.shape == (3, 32, 4, 4)
    tokens = vit(torch.randn(1, 3, 32, 32))[-1]
    assert tokens.shape == (1, 17, 32)
