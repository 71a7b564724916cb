"""Mugs: a multi-granular self-supervised learning framework (Zhou et al.,
2022), section 3 and appendix B of the paper."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import Tensor

from ...utils.renamed_args import check_renamed_args, reject_extra_args
from ..necks.mugs_local_group import mugs_topk_neighbours
from ..utils import EMATeacher, FeatureQueue
from .common import check_backbone_init, check_widths, maybe_init_backbone_

_LOSS_KEYS = ('instance', 'local_group', 'group')

#: Old argument names of :class:`Mugs` -> new ones (the names MGC and
#: mmpretrain use).
RENAMED_ARGS = dict(base_decay='ema_decay', end_decay='ema_end_decay')


@MODELS.register_module()
class Mugs(BaseSelfSupervisor):
    """Mugs with its three supervisions: instance (IDS), local-group (LGDS)
    and group (GDS) discrimination.

    Inputs are a list of crops, each ``(B, 3, H, W)``: ``num_global_crops``
    teacher global crops, then ``num_global_crops`` student global crops,
    then any number of student local crops (as produced by
    :class:`MugsMultiCrop`). Every teacher global crop ``t`` supervises every
    student crop except the student's ``t``-th global crop.

    The EMA teacher (one :class:`EMATeacher`, decay ``ema_decay ->
    ema_end_decay`` cosine, see :mod:`mmmgc.models.utils.ema`) tracks the
    backbone, the aggregator (``neck``), both projectors and the group head;
    the predictors are student-only. The teacher is always in eval mode (no
    drop path or dropout, whatever the student's rates; see
    ``teacher_batch_stats`` for BatchNorm) and never receives gradients.

    Local-group discrimination: the query token of a crop is the mean of the
    patch tokens after the backbone's final norm (the paper). Its ``k``
    nearest neighbours (cosine) are searched, before this batch is enqueued,
    in a neighbour buffer: the teacher's buffer holds the teacher's first
    global crop of every image; with ``separate_student_buffer`` (the
    released code) the student searches its own buffer, which holds its
    first global crop of the images whose student crops were weakly
    augmented (``student_buffer_weak_only``), otherwise the student searches
    the teacher's buffer. All buffers and queues are :class:`FeatureQueue`
    (FIFO, all-gathered under DDP, saved in checkpoints). The neighbour
    buffers sit on this algorithm, and the target queues on the heads
    outside their projectors, because the teacher's update
    (:func:`ema_update_`) copies every buffer of the modules it tracks from
    the student: a buffer inside the aggregator or a projector would be
    overwritten with the student's at every step, so the teacher could not
    keep one of its own. (The group head's centre is tracked with the head
    and copied that way into the teacher, where it is never read.)

    Args:
        backbone (dict): An mmpretrain ViT with ``out_type='raw'`` (class
            token first, final norm on).
        neck (dict): The local-group aggregator (:class:`MugsAggregator`).
        instance_head (dict): A :class:`MugsInfoNCEHead` on the class token.
        local_group_head (dict): A :class:`MugsInfoNCEHead` on the
            aggregated local-group token.
        group_head (dict): A :class:`MugsGroupHead` on the class token.
        num_global_crops (int): Teacher (= student) global crops. Defaults
            to 2.
        num_neighbours (int): ``k``. Defaults to 8.
        neighbour_buffer_length (int): Defaults to 65536.
        separate_student_buffer (bool): Defaults to True.
        student_buffer_weak_only (bool): Defaults to True.
        loss_weights (dict): ``lambda`` of each loss, real multipliers.
            Defaults to 1/3 each.
        ema_decay (float): EMA decay at iteration 0. Defaults to 0.996.
        ema_end_decay (float): EMA decay at the last iteration. Defaults to
            1.0.
        teacher_batch_stats (bool): In training, the teacher's BatchNorm
            layers (only present when a head is built with ``norm_cfg`` /
            ``last_norm_cfg``) normalise with the current batch's stats, as
            MoCo v3's momentum encoder does, instead of running statistics.
            Everything else in the teacher stays in eval mode. Defaults to
            False (the paper's heads have no BatchNorm).
        backbone_init (str, optional): ``'trunc_normal'`` re-initialises
            the backbone as DINO and the released Mugs code do, see
            :func:`vit_trunc_normal_init_`; None keeps the backbone's own
            initialisation. Not applied when loading a checkpoint. Defaults
            to None.
        pretrained (str, optional): Checkpoint to initialise from.
        data_preprocessor (dict, optional): Defaults to
            ``SelfSupDataPreprocessor``.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 instance_head: dict,
                 local_group_head: dict,
                 group_head: dict,
                 num_global_crops: int = 2,
                 num_neighbours: int = 8,
                 neighbour_buffer_length: int = 65536,
                 separate_student_buffer: bool = True,
                 student_buffer_weak_only: bool = True,
                 loss_weights: Optional[Dict[str, float]] = None,
                 ema_decay: float = 0.996,
                 ema_end_decay: float = 1.0,
                 teacher_batch_stats: bool = False,
                 backbone_init: Optional[str] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None,
                 **kwargs) -> None:
        reject_extra_args(kwargs, RENAMED_ARGS, 'model')
        # old argument names of the sub-modules, caught here so that the
        # error names the full config key
        for key, cfg in (('neck', neck), ('instance_head', instance_head),
                         ('local_group_head', local_group_head), ('group_head',
                                                                  group_head)):
            if isinstance(cfg, dict) and 'type' in cfg:
                cls = cfg['type'] if isinstance(cfg['type'], type) \
                    else MODELS.get(cfg['type'])
                check_renamed_args(cfg, getattr(cls, 'RENAMED_ARGS', {}),
                                   f'model.{key}')
        check_backbone_init(backbone_init)
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=None,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        check_widths(self.backbone, backbone, [
            (neck, 'model.neck', 'embed_dims'),
            (instance_head, 'model.instance_head', 'in_channels'),
            (local_group_head, 'model.local_group_head', 'in_channels'),
            (group_head, 'model.group_head', 'in_channels'),
        ])
        self.backbone_init = backbone_init
        self.instance_head = MODELS.build(instance_head)
        self.local_group_head = MODELS.build(local_group_head)
        self.group_head = MODELS.build(group_head)
        if getattr(self.backbone, 'out_type', 'raw') != 'raw':
            raise ValueError("Mugs: model.backbone.out_type must be 'raw' "
                             '(class token + patch tokens), got '
                             f'{self.backbone.out_type!r}')
        if num_global_crops < 1:
            raise ValueError('Mugs: num_global_crops must be >= 1, got '
                             f'{num_global_crops}')
        if num_neighbours < 1 or num_neighbours > neighbour_buffer_length:
            raise ValueError(
                f'Mugs: num_neighbours={num_neighbours} must be in [1, '
                f'neighbour_buffer_length={neighbour_buffer_length}]')
        weights = dict(instance=1 / 3, local_group=1 / 3, group=1 / 3)
        if loss_weights is not None:
            unknown = set(loss_weights) - set(_LOSS_KEYS)
            if unknown:
                raise ValueError(f'Mugs: unknown loss_weights keys '
                                 f'{sorted(unknown)}; allowed: {_LOSS_KEYS}')
            weights.update(loss_weights)
        self.loss_weights = weights
        self.num_global_crops = num_global_crops
        self.num_neighbours = num_neighbours
        self.separate_student_buffer = separate_student_buffer
        self.student_buffer_weak_only = student_buffer_weak_only
        dim = self.backbone.embed_dims
        self.teacher_buffer = FeatureQueue(
            neighbour_buffer_length, dim, init='zeros')
        self.student_buffer = FeatureQueue(
            neighbour_buffer_length, dim,
            init='zeros') if separate_student_buffer else None
        self.teacher_batch_stats = teacher_batch_stats
        self.teacher = EMATeacher(
            self._teacher_source(),
            ema_decay,
            ema_end_decay,
            batch_stats=teacher_batch_stats)

    # ------------------------------------------------------------------
    # teacher
    def _teacher_source(self) -> nn.ModuleDict:
        """The student modules that the teacher tracks, in a fixed order
        (built on the fly, so nothing is registered twice)."""
        return nn.ModuleDict(
            dict(
                backbone=self.backbone,
                neck=self.neck,
                instance_projector=self.instance_head.projector,
                local_group_projector=self.local_group_head.projector,
                group_head=self.group_head))

    def init_weights(self) -> None:
        """Initialise the student (``backbone_init``), then copy it into the
        teacher, unless a ``Pretrained`` checkpoint holds the whole teacher
        (see :meth:`EMATeacher.sync_unless_loaded`)."""
        super().init_weights()
        maybe_init_backbone_(self, self.backbone_init)
        self.teacher.sync_unless_loaded(self._teacher_source(), self.init_cfg,
                                        'teacher.module.')

    # ------------------------------------------------------------------
    # features
    def _tokens(self, backbone: nn.Module,
                crops: List[Tensor]) -> Tuple[Tensor, Tensor]:
        """Class tokens and mean patch tokens of ``crops``; consecutive crops
        of the same size go through the backbone together."""
        cls, avg = [], []
        start = 0
        while start < len(crops):
            end = start + 1
            while (end < len(crops)
                   and crops[end].shape[-2:] == crops[start].shape[-2:]):
                end += 1
            tokens = backbone(torch.cat(crops[start:end]))[-1]
            cls.append(tokens[:, 0])
            avg.append(tokens[:, 1:].mean(dim=1))
            start = end
        return torch.cat(cls), torch.cat(avg)

    def extract_feat(self, inputs: List[Tensor]) -> Tuple[Tensor]:
        """Backbone features of the student."""
        return self.backbone(inputs[0] if isinstance(inputs, list) else inputs)

    # ------------------------------------------------------------------
    # local-group discrimination: neighbour search and buffer selection
    def _local_group(self, aggregator: nn.Module, query: Tensor,
                     buffer: FeatureQueue) -> Tensor:
        """The local-group features of ``query`` ``(n, D)``: its
        ``num_neighbours`` nearest neighbours in ``buffer`` (searched without
        gradient), aggregated with ``query`` by ``aggregator``."""
        neighbours = mugs_topk_neighbours(query.detach(), buffer.queue,
                                          self.num_neighbours,
                                          int(buffer.num_filled))
        return aggregator(query, neighbours)[0]

    def _weak_mask(self, data_samples: Optional[List[DataSample]], batch: int,
                   device) -> Tensor:
        """Which images of the batch enter the student's neighbour buffer:
        those whose data sample has ``mugs_weak`` True (missing counts as
        True), or all of them without ``student_buffer_weak_only``."""
        if not self.student_buffer_weak_only or not data_samples:
            return torch.ones(batch, dtype=torch.bool, device=device)
        flags = [bool(ds.get('mugs_weak', True)) for ds in data_samples]
        return torch.tensor(flags, dtype=torch.bool, device=device)

    # ------------------------------------------------------------------
    def loss(self,
             inputs: List[Tensor],
             data_samples: Optional[List[DataSample]] = None,
             **kwargs) -> Dict[str, Tensor]:
        """The three weighted losses of one batch; updates the teacher
        (first), then the queues, buffers and centre (last).

        Args:
            inputs (list[Tensor]): Crops, see the class docstring.
            data_samples (list[DataSample], optional): May carry
                ``mugs_weak`` per image.

        Returns:
            dict[str, Tensor]: ``loss_instance``, ``loss_local_group``,
            ``loss_group`` (already multiplied by their weights).
        """
        g = self.num_global_crops
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2 * g:
            raise ValueError(
                f'Mugs expects a list of >= {2 * g} crops (num_global_crops='
                f'{g} teacher + {g} student global crops, then local crops);'
                f' got {len(inputs) if isinstance(inputs, list) else inputs}'
                '. Check the MugsMultiCrop transform of the pipeline.')
        batch = inputs[0].shape[0]
        self.teacher.update(self._teacher_source())
        teacher = self.teacher.module

        with torch.no_grad():
            t_cls, t_query = self._tokens(teacher.backbone, list(inputs[:g]))
            t_lg = self._local_group(teacher.neck, t_query,
                                     self.teacher_buffer)
            t_inst = self.instance_head.target(teacher.instance_projector,
                                               t_cls)
            t_lgt = self.local_group_head.target(teacher.local_group_projector,
                                                 t_lg)
            t_group = teacher.group_head(t_cls).float()

        student_crops = list(inputs[g:])
        s_cls, s_query = self._tokens(self.backbone, student_crops)
        s_buffer = self.student_buffer if self.separate_student_buffer \
            else self.teacher_buffer
        s_lg = self._local_group(self.neck, s_query, s_buffer)
        s_inst = self.instance_head.predict(s_cls)
        s_lgp = self.local_group_head.predict(s_lg)
        s_group = self.group_head(s_cls)

        num_s = len(student_crops)

        def per_crop(x: Tensor, n: int) -> Tensor:
            return x.reshape(n, batch, x.shape[-1])

        losses = dict(
            loss_instance=self.instance_head.loss(
                per_crop(s_inst, num_s), per_crop(t_inst, g)),
            loss_local_group=self.local_group_head.loss(
                per_crop(s_lgp, num_s), per_crop(t_lgt, g)),
            loss_group=self.group_head.loss(
                per_crop(s_group, num_s), per_crop(t_group, g)))
        losses = {
            k: v * self.loss_weights[k[len('loss_'):]]
            for k, v in losses.items()
        }

        # state updates, after the losses (FIFO, all-gathered under DDP).
        # Sample-major rows (all crops of image 0, then image 1, ...), so
        # that the rank-ordered gather writes the rows in the same order as
        # one process holding the whole batch would.
        def sample_major(x: Tensor) -> Tensor:
            return per_crop(x, g).transpose(0, 1).reshape(-1, x.shape[-1])

        self.instance_head.enqueue(sample_major(t_inst))
        self.local_group_head.enqueue(sample_major(t_lgt))
        self.group_head.update_center(t_group)
        self.teacher_buffer.enqueue(t_query[:batch].float())
        if self.student_buffer is not None:
            weak = self._weak_mask(data_samples, batch, s_query.device)
            self.student_buffer.enqueue(s_query[:batch].detach().float()[weak])
        return losses
