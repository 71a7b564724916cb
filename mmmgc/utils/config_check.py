"""Checks of a pretraining config that span the pipeline and the model, run
by ``tools/train.py`` before anything is built (a model alone cannot see
its crops, nor a transform its patch size): every crop covers at least one
patch, and MGC's granularities divide the patch grid of its crops."""
from typing import Iterator, List, Tuple

#: Transform type -> its keys that give a crop side in pixels.
CROP_KEYS = {
    'MGCTwoViewCrop': ('size', ),
    'MugsMultiCrop': ('global_size', 'local_size'),
}


def _pipelines(dataset_cfg, path: str) -> Iterator[Tuple[str, list]]:
    """``(config path, pipeline)`` of a dataset config and of the datasets
    it wraps (``dataset`` / ``datasets`` keys)."""
    if not isinstance(dataset_cfg, dict):
        return
    if isinstance(dataset_cfg.get('pipeline'), (list, tuple)):
        yield f'{path}.pipeline', dataset_cfg['pipeline']
    inner = dataset_cfg.get('dataset')
    if isinstance(inner, dict):
        yield from _pipelines(inner, f'{path}.dataset')
    for i, d in enumerate(dataset_cfg.get('datasets') or []):
        yield from _pipelines(d, f'{path}.datasets[{i}]')


def _as_side(value) -> List[int]:
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    return [int(value)]


def check_crops_cover_a_patch(cfg) -> None:
    """Raise if a crop of the training pipeline is smaller than one patch of
    ``model.backbone``.

    Args:
        cfg (Config | dict): The full config.

    Raises:
        ValueError: Naming the crop key and ``model.backbone.patch_size``.
    """
    model = cfg.get('model') or {}
    backbone = model.get('backbone') if isinstance(model, dict) else None
    loader = cfg.get('train_dataloader')
    if not isinstance(backbone, dict) or not isinstance(loader, dict):
        return
    patch = backbone.get('patch_size', 16)
    patch_sides = _as_side(patch)
    for path, pipeline in _pipelines(
            loader.get('dataset'), 'train_dataloader.dataset'):
        for i, t in enumerate(pipeline):
            if not isinstance(t, dict):
                continue
            for key in CROP_KEYS.get(str(t.get('type')), ()):
                if t.get(key) is None:
                    continue
                sides = _as_side(t[key])
                if min(sides) < max(patch_sides):
                    raise ValueError(
                        f'{path}[{i}].{key}={t[key]} ({t["type"]}) is '
                        f'smaller than one patch: model.backbone.patch_size'
                        f'={patch}. Use crops of at least one patch.')


def check_mgc_granularities(cfg) -> None:
    """Raise if an MGC granularity does not divide the patch grid of the
    crops (``MGCTwoViewCrop.size // model.backbone.patch_size``).

    Args:
        cfg (Config | dict): The full config.

    Raises:
        ValueError: Naming ``model.granularities``, the crop key and
            ``model.backbone.patch_size``.
    """
    model = cfg.get('model') or {}
    if not isinstance(model, dict) or model.get('type') != 'MGC':
        return
    granularities = tuple(
        int(c) for c in model.get('granularities', (1, 2, 7)))
    backbone = model.get('backbone') or {}
    patch = max(_as_side(backbone.get('patch_size', 16)))
    loader = cfg.get('train_dataloader') or {}
    for path, pipeline in _pipelines(
            loader.get('dataset'), 'train_dataloader.dataset'):
        for i, t in enumerate(pipeline):
            if not isinstance(t, dict) or t.get('type') != 'MGCTwoViewCrop':
                continue
            for side in _as_side(t.get('size', 224)):
                grid = side // patch
                bad = [c for c in granularities if grid < 1 or grid % c]
                if bad or side % patch:
                    raise ValueError(
                        f'model.granularities={granularities}: {bad} do not '
                        f'divide the {grid} x {grid} patch grid of the '
                        f'crops ({path}[{i}].size={t.get("size")}, '
                        f'model.backbone.patch_size={patch})' if bad else
                        f'{path}[{i}].size={t.get("size")} is not a '
                        f'multiple of model.backbone.patch_size={patch}')


def check_pretrain_config(cfg) -> None:
    """All checks of this module (``tools/train.py`` runs them)."""
    check_crops_cover_a_patch(cfg)
    check_mgc_granularities(cfg)


__all__ = [
    'CROP_KEYS', 'check_crops_cover_a_patch', 'check_mgc_granularities',
    'check_pretrain_config'
]
