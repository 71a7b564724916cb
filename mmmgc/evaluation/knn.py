"""k-nearest-neighbour classification of frozen features (DINO protocol:
cosine similarity, the k nearest training samples vote with weight
exp(sim / T))."""

import torch
import torch.nn.functional as F
from torch import Tensor


@torch.no_grad()
def knn_classify(train_feats: Tensor,
                 train_labels: Tensor,
                 test_feats: Tensor,
                 num_classes: int,
                 k: int = 20,
                 temperature: float = 0.07,
                 chunk: int = 1024) -> Tensor:
    """Predict test labels by weighted kNN voting.

    Args:
        train_feats (Tensor): ``(N, D)`` training features.
        train_labels (Tensor): ``(N,)`` int labels.
        test_feats (Tensor): ``(M, D)`` test features.
        num_classes (int): Number of classes.
        k (int): Neighbours. Defaults to 20.
        temperature (float): Vote weight ``exp(sim / T)``. Defaults to 0.07.
        chunk (int): Test rows per matmul. Defaults to 1024.

    Returns:
        Tensor: ``(M, num_classes)`` vote scores.
    """
    if k < 1 or k > train_feats.shape[0]:
        raise ValueError('knn_classify: k must be in '
                         f'[1, {train_feats.shape[0]}], got {k}')
    train = F.normalize(train_feats.float(), dim=1)
    test = F.normalize(test_feats.float(), dim=1)
    out = []
    for i in range(0, test.shape[0], chunk):
        sim = test[i:i + chunk] @ train.t()
        top_sim, top_idx = sim.topk(k, dim=1)
        weights = (top_sim / temperature).exp()
        votes = torch.zeros(sim.shape[0], num_classes, device=sim.device)
        votes.scatter_add_(1, train_labels[top_idx], weights)
        out.append(votes)
    return torch.cat(out)


def knn_top1(train_feats: Tensor,
             train_labels: Tensor,
             test_feats: Tensor,
             test_labels: Tensor,
             num_classes: int,
             k: int = 20,
             temperature: float = 0.07) -> float:
    """kNN top-1 accuracy in percent."""
    scores = knn_classify(train_feats, train_labels, test_feats, num_classes,
                          k, temperature)
    return (scores.argmax(1) == test_labels).float().mean().item() * 100


@torch.no_grad()
def extract_features(backbone: torch.nn.Module,
                     images: Tensor,
                     feature: str = 'cls',
                     num_extra_tokens: int = 1,
                     batch_size: int = 256) -> Tensor:
    """Frozen features of ``images`` from a ViT that returns raw tokens.

    Args:
        backbone (nn.Module): A ViT whose last output is ``(B, T, C)`` tokens
            after its final norm (mmpretrain ``out_type='raw'``) or
            ``(B, C)`` features.
        images (Tensor): Normalised ``(N, 3, H, W)`` images.
        feature (str): ``'cls'`` (class token), ``'avg'`` (mean of patch
            tokens; MGC trains patch tokens only, its class token is unused)
            or ``'cls+avg'`` (both, concatenated). Defaults to ``'cls'``.
        num_extra_tokens (int): Leading non-patch tokens. Defaults to 1.
        batch_size (int): Images per forward. Defaults to 256.

    Returns:
        Tensor: ``(N, C)`` (or ``(N, 2C)`` for ``'cls+avg'``) fp32 features.
    """
    if feature not in ('cls', 'avg', 'cls+avg'):
        raise ValueError("feature must be 'cls', 'avg' or 'cls+avg', got "
                         f'{feature!r}')
    was_training = backbone.training
    backbone.eval()
    feats = []
    for i in range(0, images.shape[0], batch_size):
        out = backbone(images[i:i + batch_size])
        if isinstance(out, (list, tuple)):
            out = out[-1]
        if isinstance(out, (list, tuple)):
            out = out[0]
        if out.dim() == 2:
            feats.append(out.float())
            continue
        if out.dim() == 4:  # (B, C, H, W) feature map
            out = out.flatten(2).transpose(1, 2)
            num_extra = 0
        else:
            num_extra = num_extra_tokens
        cls = out[:, 0]
        avg = out[:, num_extra:].mean(1)
        f = {
            'cls': cls,
            'avg': avg,
            'cls+avg': torch.cat([cls, avg], 1)
        }[feature]
        feats.append(f.float())
    backbone.train(was_training)
    return torch.cat(feats)
