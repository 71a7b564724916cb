"""MGC: Multi-Grained Contrast (paper Sec. 3, Algorithm 1)."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import Tensor, nn

from ...checkpoint.key_renames import MGC_KEY_RENAMES, rename_state_dict_keys
from ...utils.dist import is_multi_rank
from ..utils import CellPairs, EMATeacher, grid_avg_pool, sample_cell_pairs
from .common import check_backbone_init, check_widths, maybe_init_backbone_

#: Query cells per image in the paper (Sec. 4.1.2), by granularity.
PAPER_NUM_SAMPLES = {1: 10, 2: 10, 7: 2, 14: 1}


def _with_num_branches(cfg: Union[dict, nn.Module], num: int,
                       where: str) -> Union[dict, nn.Module]:
    """Give a neck or head config one branch per granularity (used when it
    is not ``shared``), or check that an explicit ``num_branches`` agrees."""
    if not isinstance(cfg, dict):
        return cfg
    if 'num_branches' in cfg and int(cfg['num_branches']) != num:
        raise ValueError(
            f'{where}.num_branches={cfg["num_branches"]} differs from the '
            f'{num} entries of model.granularities (leave it out: MGC sets '
            'it)')
    return dict(cfg, num_branches=num)


def _rename_legacy_keys(module: nn.Module, state_dict: dict, prefix: str,
                        *args) -> None:
    """Load pre-hook: read checkpoints written before the teacher was
    renamed (:data:`MGC_KEY_RENAMES`)."""
    rename_state_dict_keys(state_dict, MGC_KEY_RENAMES, prefix)


@MODELS.register_module()
class MGC(BaseSelfSupervisor):
    """Multi-Grained Contrast.

    Both views go through the online backbone and the teacher's backbone.
    For each granularity ``c`` the patch-token maps are average-pooled with
    window ``c``; per image, up to ``num_samples[c]`` query cells are drawn
    among the cells of the query view that overlap the other view, and the
    keys are taken from the other view (see ``key_cells``). Queries go
    through the projector G and the predictor H, keys through the teacher's
    projector (no gradient). The loss of each granularity is the soft-target
    cross-entropy of Eq. 3 against the keys of ALL images of the global
    batch, averaged over the two directions (view 1 -> 2 and 2 -> 1); the
    total is the sum over granularities (Eq. 4); the log shows
    ``loss_c{c}``. The head's ``direction_reduction``,
    ``granularity_weights`` and ``per_direction_bn`` options give the public
    code's sum over directions, 10 : 10 : 2 weights and per-view batch
    statistics instead.

    Which keys enter the softmax (``key_cells='overlap'``, the default):
    for every image, the view-2 cells that overlap at least one of that
    image's sampled view-1 queries; the softmax of a query runs over these
    keys of every image in the global batch. They are exactly the cells
    with non-zero target for some query, so each query's target row is
    complete (the renormalisation over kept keys is then a no-op) while
    only the sparse sample is projected, as the paper's sampling "on both
    views before G and H" intends. ``key_cells='all'`` uses every cell of
    every image (the literal, dense sum over ``(u, v)`` of Eq. 3; costlier).

    The EMA convention is the one of :mod:`mmmgc.models.utils.ema`: the
    teacher keeps ``decay`` of its old value (0.996 -> 1, cosine). The
    teacher (``teacher``, an :class:`EMATeacher` of the backbone and the
    projector, the authors' momentum encoder) runs without dropout or drop
    path whatever the student's ``drop_path_rate`` (as the authors build
    it); its projector's BatchNorm normalises with the batch in training
    (``batch_stats``). Checkpoints that name it ``momentum_encoder`` (before
    the rename) load as well (:data:`MGC_KEY_RENAMES`).

    Args:
        backbone (dict): ViT returning patch-token maps ``(B, C, H, W)``
            (``out_type='featmap'``).
        neck (dict): Projector (:class:`MGCProjectionNeck`); its
            ``num_branches`` is set to the number of granularities.
        head (dict): Predictor + loss (:class:`MGCHead`); its
            ``num_branches`` is set likewise.
        granularities (Sequence[int]): Pooling windows ``c``; each must
            divide the patch grid. Defaults to (1, 2, 7) (Table 6's best).
        num_samples (Sequence[int], optional): Query cells per image for
            each granularity. Defaults to the paper's counts (10, 10, 2, 1
            for c = 1, 2, 7, 14), i.e. (10, 10, 2) for the default
            granularities.
        key_cells (str): ``'overlap'`` or ``'all'`` (see above). Defaults
            to ``'overlap'``.
        symmetric (bool): Also contrast view-2 queries with view-1 keys.
            Defaults to True.
        ema_decay (float): EMA decay at iteration 0. Defaults to 0.996.
        ema_end_decay (float): EMA decay at the last iteration. Defaults to
            1.0.
        backbone_init (str, optional): ``'trunc_normal'`` re-initialises
            the backbone as the authors' code (and DINO) do, see
            :func:`vit_trunc_normal_init_`; None keeps the backbone's own
            initialisation. Not applied when loading a checkpoint. Defaults
            to None.
        pretrained (str, optional): Checkpoint to initialise from.
        data_preprocessor (dict, optional): Defaults to
            ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 granularities: Sequence[int] = (1, 2, 7),
                 num_samples: Optional[Sequence[int]] = None,
                 key_cells: str = 'overlap',
                 symmetric: bool = True,
                 ema_decay: float = 0.996,
                 ema_end_decay: float = 1.0,
                 backbone_init: Optional[str] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        granularities = tuple(int(c) for c in granularities)
        if num_samples is None:
            missing = [c for c in granularities if c not in PAPER_NUM_SAMPLES]
            if missing:
                raise ValueError(
                    f'model.num_samples must be given for granularities '
                    f'{missing} (the paper only fixes c in '
                    f'{sorted(PAPER_NUM_SAMPLES)})')
            num_samples = [PAPER_NUM_SAMPLES[c] for c in granularities]
        num_samples = tuple(int(n) for n in num_samples)
        if not granularities or len(set(granularities)) != len(
                granularities) or min(granularities) < 1:
            raise ValueError('model.granularities must be distinct positive '
                             f'ints, got {granularities}')
        if len(num_samples) != len(granularities) or min(num_samples) < 1:
            raise ValueError(
                f'model.num_samples={num_samples} must give one positive '
                f'count per granularity of model.granularities='
                f'{granularities}')
        if key_cells not in ('overlap', 'all'):
            raise ValueError("model.key_cells must be 'overlap' or 'all', "
                             f'got {key_cells!r}')
        check_backbone_init(backbone_init)
        neck = _with_num_branches(neck, len(granularities), 'model.neck')
        head = _with_num_branches(head, len(granularities), 'model.head')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        check_widths(self.backbone, backbone,
                     [(neck, 'model.neck', 'in_channels')])
        if isinstance(neck, dict) and isinstance(head, dict) and \
                'out_channels' in neck and 'in_channels' in head and \
                int(neck['out_channels']) != int(head['in_channels']):
            raise ValueError(
                f'model.neck.out_channels={neck["out_channels"]} differs '
                f'from model.head.in_channels={head["in_channels"]}')
        self.backbone_init = backbone_init
        self.granularities = granularities
        self.num_samples = num_samples
        self.key_cells = key_cells
        self.symmetric = symmetric
        #: Optional generator for the query sampling (tests pin it); data
        #: samples with a ``sampling_seed`` field take precedence.
        self.sampling_generator: Optional[torch.Generator] = None
        self.teacher = EMATeacher(
            self._teacher_source(),
            ema_decay=ema_decay,
            ema_end_decay=ema_end_decay,
            batch_stats=True)
        self._register_load_state_dict_pre_hook(
            _rename_legacy_keys, with_module=True)

    def _teacher_source(self) -> nn.ModuleList:
        """The student modules that the teacher tracks, in teacher order:
        ``teacher.module[0]`` is the backbone, ``[1]`` the projector."""
        return nn.ModuleList([self.backbone, self.neck])

    def init_weights(self) -> None:
        """Initialise (``backbone_init``), then start the teacher as an exact
        copy of the student, unless a ``Pretrained`` checkpoint holds the
        whole teacher (see :meth:`EMATeacher.sync_unless_loaded`).
        """
        super().init_weights()
        maybe_init_backbone_(self, self.backbone_init)
        self.teacher.sync_unless_loaded(self._teacher_source(), self.init_cfg,
                                        'teacher.module.', MGC_KEY_RENAMES)

    # ----------------------------------------------------------------- data
    @staticmethod
    def _stack_field(data_samples: List[DataSample], key: str,
                     dtype: torch.dtype, device: torch.device) -> Tensor:
        vals = []
        for ds in data_samples:
            if key not in ds:
                raise KeyError(f'MGC needs the data-sample field {key!r}: use '
                               "MGCTwoViewCrop in the pipeline and PackInputs("
                               "algorithm_keys=['view_boxes', 'view_flips'])")
            v = ds.get(key)
            vals.append(
                v if isinstance(v, Tensor) else torch.
                from_numpy(np.asarray(v)))
        return torch.stack(vals).to(device=device, dtype=dtype)

    def view_geometry(self, data_samples: List[DataSample],
                      device: torch.device) -> Tuple[Tensor, Tensor]:
        """``boxes (B, 2, 4)`` float and ``flips (B, 2)`` bool."""
        boxes = self._stack_field(data_samples, 'view_boxes', torch.float64,
                                  device)
        flips = self._stack_field(data_samples, 'view_flips', torch.bool,
                                  device)
        if boxes.shape[1:] != (2, 4) or flips.shape[1:] != (2, ):
            raise ValueError('view_boxes must be (2, 4) and view_flips (2,) '
                             f'per sample, got {tuple(boxes.shape[1:])} and '
                             f'{tuple(flips.shape[1:])}')
        return boxes, flips

    @staticmethod
    def sampling_seeds(data_samples: List[DataSample],
                       device: torch.device) -> Optional[Tensor]:
        """Per-sample seeds from a ``sampling_seed`` field, if every sample
        has one."""
        if not data_samples or not all('sampling_seed' in ds
                                       for ds in data_samples):
            return None
        return torch.tensor(
            [int(ds.get('sampling_seed')) for ds in data_samples],
            dtype=torch.int64,
            device=device)

    # -------------------------------------------------------------- pairing
    def compute_pairs(self,
                      boxes: Tensor,
                      flips: Tensor,
                      grid_size: int,
                      index: int,
                      seeds: Optional[Tensor] = None) -> List[CellPairs]:
        """Queries, keys and Eq. 2 targets of granularity number ``index``
        for each direction (:func:`sample_cell_pairs`); the draws of
        granularity ``index`` and direction ``d`` use salt ``2 * index +
        d``."""
        return sample_cell_pairs(
            boxes,
            flips,
            grid_size,
            self.granularities[index],
            self.num_samples[index],
            key_cells=self.key_cells,
            symmetric=self.symmetric,
            generator=self.sampling_generator,
            seeds=seeds,
            salt=2 * index)

    # ----------------------------------------------------------------- loss
    @staticmethod
    def _featmap(out) -> Tensor:
        x = out[-1] if isinstance(out, (tuple, list)) else out
        if x.dim() != 4:
            raise ValueError(
                'MGC needs patch-token maps (B, C, H, W) from the backbone: '
                "set model.backbone.out_type='featmap'; got shape "
                f'{tuple(x.shape)}')
        if x.shape[2] != x.shape[3]:
            raise ValueError(f'MGC needs a square patch grid, got '
                             f'{x.shape[2]} x {x.shape[3]}')
        return x

    def loss(self, inputs: List[Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, Tensor]:
        """Multi-grained contrastive losses of a batch of view pairs.

        Args:
            inputs (list[Tensor]): ``[view1, view2]``, each ``(B, 3, H, W)``.
            data_samples (list[DataSample]): With ``view_boxes`` and
                ``view_flips`` (and optionally ``sampling_seed``).

        Returns:
            dict[str, Tensor]: ``loss_c{c}`` per granularity (their sum is
            Eq. 4).
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError('MGC expects two views per sample (inputs = '
                             '[view1, view2]); check the pipeline')
        x = torch.cat([inputs[0], inputs[1]])
        batch = inputs[0].shape[0]
        feats = self._featmap(self.backbone(x))
        with torch.no_grad():
            self.teacher.update(self._teacher_source())
            t_feats = self._featmap(self.teacher.module[0](x))
        teacher_neck = self.teacher.module[1]
        grid = feats.shape[-1]
        for c in self.granularities:
            if grid % c:
                raise ValueError(
                    f'granularity {c} of model.granularities does not '
                    f'divide the {grid} x {grid} patch grid')
        boxes, flips = self.view_geometry(data_samples, feats.device)
        seeds = self.sampling_seeds(data_samples, feats.device)

        losses = {}
        for index, c in enumerate(self.granularities):
            pairs = self.compute_pairs(boxes, flips, grid, index, seeds)
            pooled = grid_avg_pool(feats, c)  # (2B, M, C)
            with torch.no_grad():
                t_pooled = grid_avg_pool(t_feats, c)
                k_tokens = torch.cat([
                    t_pooled[p.k_img + p.k_view * batch, p.k_cell]
                    for p in pairs
                ])
            q_tokens = torch.cat(
                [pooled[p.q_img + p.q_view * batch, p.q_cell] for p in pairs])
            q_sizes = [int(p.q_img.shape[0]) for p in pairs]
            k_sizes = [int(p.k_img.shape[0]) for p in pairs]
            # the head's per_direction_bn: one projector call per direction
            per_dir = getattr(self.head, 'per_direction_bn', False)
            if not is_multi_rank() and min(
                    q_sizes + k_sizes
                    if per_dir else [sum(q_sizes), sum(k_sizes)]) < 2:
                # Too few overlapping cells for batch statistics: no loss.
                losses[f'loss_c{c}'] = feats.sum() * 0.0
                continue
            q_parts = q_tokens.split(q_sizes) if per_dir else [q_tokens]
            q_proj = torch.cat([self.neck((t, ), index)[0] for t in q_parts])
            with torch.no_grad():
                k_parts = k_tokens.split(k_sizes) if per_dir else [k_tokens]
                k_proj = torch.cat(
                    [teacher_neck((t, ), index)[0] for t in k_parts])
            k_split = k_proj.split(k_sizes)
            losses[f'loss_c{c}'] = self.head.loss(q_proj, list(k_split),
                                                  [p.targets for p in pairs],
                                                  index, batch)
        return losses


__all__ = ['MGC']
