"""Protocols on the frozen features of a classification config's train and
val dataloaders: weighted kNN (``tools/analysis/knn.py dataset``) and the
semi-supervised logistic regression of Mugs Table 4
(``tools/analysis/logreg_classify.py``)."""
from typing import Optional, Sequence, Tuple, Union

from torch import Tensor

from .dataloader_features import (build_feature_model,
                                  extract_dataloader_features)
from .knn import knn_top1
from .logistic_regression import sweep_logistic_regression


def train_val_features(cfg,
                       checkpoint: Optional[str] = None
                       ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Features and labels of ``cfg.train_dataloader`` and
    ``cfg.val_dataloader`` from ``cfg.model``'s ``extract_feat`` (its
    backbone loaded strictly from ``model.backbone.init_cfg.checkpoint`` or
    ``checkpoint``; :func:`build_feature_model`)."""
    from mmengine.runner import Runner
    model = build_feature_model(cfg, checkpoint)
    train_f, train_l = extract_dataloader_features(
        model, Runner.build_dataloader(cfg.train_dataloader))
    val_f, val_l = extract_dataloader_features(
        model, Runner.build_dataloader(cfg.val_dataloader))
    return train_f, train_l, val_f, val_l


def knn_from_config(cfg,
                    checkpoint: Optional[str] = None,
                    ks: Union[int, Sequence[int], None] = None,
                    temperature: Optional[float] = None) -> dict:
    """Weighted kNN top-1 of the val set against the train set.

    ``cfg`` gives ``model`` (an ``ImageClassifier`` whose ``extract_feat``
    returns ``(B, D)``), ``train_dataloader`` (the labelled bank, with the
    TEST pipeline), ``val_dataloader`` and ``knn = dict(k=...,
    temperature=...)``; ``ks`` and ``temperature`` override the latter.

    Returns:
        dict: ``{'top1_k20': ..., ...}`` (percent), ``temperature``,
        ``num_train`` and ``num_val``.
    """
    if 'knn' not in cfg:
        raise KeyError(f'{cfg.filename}: no `knn` settings (knn = dict(k=20,'
                       ' temperature=0.07))')
    ks = ks or cfg.knn.k
    ks = [ks] if isinstance(ks, int) else list(ks)
    t = temperature if temperature is not None else cfg.knn.temperature
    train_f, train_l, val_f, val_l = train_val_features(cfg, checkpoint)
    num_classes = int(max(train_l.max(), val_l.max())) + 1
    out = {}
    for k in ks:
        out[f'top1_k{k}'] = knn_top1(
            train_f, train_l, val_f, val_l, num_classes, k=k, temperature=t)
    out.update(temperature=t, num_train=len(train_l), num_val=len(val_l))
    return out


def logreg_from_config(cfg, checkpoint: Optional[str] = None) -> dict:
    """One logistic-regression classifier per learning rate
    (:func:`sweep_logistic_regression`) on the train features, scored on
    the val features.

    ``cfg`` gives ``model``, ``train_dataloader`` (the labelled subset, TEST
    pipeline), ``val_dataloader`` and ``logreg = dict(lr=(...),
    weight_decay=..., epochs=..., batch_size=...)`` (optional
    ``num_classes`` and ``seed``).

    Returns:
        dict: The sweep result (percent), ``num_train`` and ``num_val``.
    """
    if 'logreg' not in cfg:
        raise KeyError(f'{cfg.filename}: no `logreg` settings')
    lr_cfg = cfg.logreg
    train_f, train_l, val_f, val_l = train_val_features(cfg, checkpoint)
    num_classes = lr_cfg.get('num_classes') or int(
        max(train_l.max(), val_l.max())) + 1
    lrs = lr_cfg.lr if isinstance(lr_cfg.lr, (list, tuple)) else [lr_cfg.lr]
    res = sweep_logistic_regression(
        train_f,
        train_l,
        val_f,
        val_l,
        num_classes,
        lrs=lrs,
        weight_decay=lr_cfg.weight_decay,
        epochs=lr_cfg.epochs,
        batch_size=lr_cfg.batch_size,
        seed=lr_cfg.get('seed', 0))
    res.update(num_train=len(train_l), num_val=len(val_l))
    return res


__all__ = ['train_val_features', 'knn_from_config', 'logreg_from_config']
