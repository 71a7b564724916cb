"""Frozen features and labels of a whole dataloader, for the protocols that
work on features (kNN, logistic regression)."""
from typing import Tuple, Union

import torch
from torch import Tensor


@torch.no_grad()
def extract_dataloader_features(model: torch.nn.Module,
                                dataloader) -> Tuple[Tensor, Tensor]:
    """Run an mmpretrain classifier's ``extract_feat`` over a dataloader.

    The batch goes through ``model.data_preprocessor`` (normalisation, as in
    testing); the feature is the last element of ``extract_feat``'s output
    (the neck's, or the backbone's when there is no neck), which must be
    ``(B, D)``.

    Args:
        model (nn.Module): An ``ImageClassifier`` (or any model with
            ``data_preprocessor`` and ``extract_feat``).
        dataloader: Yields mmengine batches (``inputs``, ``data_samples``
            with ``gt_label``).

    Returns:
        tuple[Tensor, Tensor]: ``(N, D)`` fp32 CPU features and ``(N,)``
        int64 labels, in dataloader order.
    """
    was_training = model.training
    model.eval()
    feats, labels = [], []
    for batch in dataloader:
        data = model.data_preprocessor(batch, False)
        out = model.extract_feat(data['inputs'])
        if isinstance(out, (list, tuple)):
            out = out[-1]
        if out.dim() != 2:
            raise ValueError(
                'extract_dataloader_features: the model gives features of '
                f'shape {tuple(out.shape)}; expected (B, D) (give the '
                "config a neck, e.g. MultiLayerConcatNeck, or backbone "
                "out_type='cls_token')")
        feats.append(out.float().cpu())
        for s in data['data_samples']:
            if 'gt_label' not in s:
                raise ValueError('extract_dataloader_features: a sample has '
                                 'no gt_label (is the dataset labelled?)')
            labels.append(int(s.gt_label[0]))
    model.train(was_training)
    if not feats:
        raise ValueError('extract_dataloader_features: empty dataloader')
    return torch.cat(feats), torch.tensor(labels, dtype=torch.long)


def build_feature_model(cfg, checkpoint: Union[str, None] = None):
    """Build ``cfg.model`` in mmpretrain's scope and load its pretrained
    backbone (strictly, when the backbone is ``StrictPretrainedViT``).

    Args:
        cfg (Config): A classification config.
        checkpoint (str, optional): Overrides
            ``model.backbone.init_cfg.checkpoint``.

    Returns:
        nn.Module: The model, in eval mode.
    """
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    model_cfg = cfg.model.copy()
    if checkpoint is not None:
        init_cfg = dict(model_cfg.backbone.get('init_cfg') or {})
        if init_cfg.get('type', 'Pretrained') != 'Pretrained':
            raise ValueError('build_feature_model: model.backbone.init_cfg '
                             f'is {init_cfg}, not a Pretrained entry')
        init_cfg.update(type='Pretrained', checkpoint=checkpoint)
        init_cfg.setdefault('prefix', 'backbone.')
        model_cfg.backbone.init_cfg = init_cfg
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
    model.init_weights()
    model.eval()
    return model


__all__ = ['extract_dataloader_features', 'build_feature_model']
