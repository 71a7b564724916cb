"""Which (teacher crop, student crop) pairs Mugs' losses use, and how they
are averaged."""
from typing import List, Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor

PAIR_WEIGHTINGS = ('half_global_half_local', 'uniform')


def mugs_crop_pairs(num_global: int, num_local: int) -> List[Tuple[int, int]]:
    """Every teacher global crop ``t`` against every other student crop.

    Student crops are indexed ``0 .. num_global - 1`` (global crops, the
    ``t``-th being the student's view of the teacher's ``t``-th global crop)
    then ``num_global .. num_global + num_local - 1`` (local crops). The
    pair ``(t, t)`` is skipped. With 2 global and 10 local crops this gives
    the paper's 22 pairs.

    Args:
        num_global (int): Global crops (teacher and student each).
        num_local (int): Local crops (student only).

    Returns:
        list[tuple[int, int]]: ``(teacher_idx, student_idx)`` pairs.
    """
    if num_global < 1 or num_local < 0:
        raise ValueError(f'need num_global >= 1 and num_local >= 0, got '
                         f'{num_global}, {num_local}')
    pairs = [(t, s) for t in range(num_global)
             for s in range(num_global + num_local) if s != t]
    if not pairs:
        raise ValueError('mugs_crop_pairs: a single global crop and no '
                         'local crop leave no pair to compare')
    return pairs


def mugs_pair_weights(num_global: int,
                      num_local: int,
                      mode: str = 'half_global_half_local') -> Tensor:
    """The weight of each pair's loss, as a ``(num_global, num_global +
    num_local)`` matrix (0 for skipped pairs) that sums to 1.

    Args:
        num_global (int): Global crops.
        num_local (int): Local crops.
        mode (str): ``'half_global_half_local'`` (the released code: 1/2 x
            mean over global-global pairs + 1/2 x mean over local-global
            pairs; the mean over global pairs alone when there is no local
            crop) or ``'uniform'`` (the plain mean over all pairs, appendix
            B.1.2's wording). Defaults to ``'half_global_half_local'``.

    Returns:
        Tensor: fp32 weights.
    """
    if mode not in PAIR_WEIGHTINGS:
        raise ValueError(f'pair weighting must be one of {PAIR_WEIGHTINGS}, '
                         f'got {mode!r}')
    pairs = mugs_crop_pairs(num_global, num_local)
    w = torch.zeros(num_global, num_global + num_local)
    if mode == 'uniform':
        for t, s in pairs:
            w[t, s] = 1.0 / len(pairs)
        return w
    glob = [(t, s) for t, s in pairs if s < num_global]
    loc = [(t, s) for t, s in pairs if s >= num_global]
    groups = [g for g in (glob, loc) if g]
    for group in groups:
        for t, s in group:
            w[t, s] = 1.0 / (len(groups) * len(group))
    return w


class MugsPairLoss(BaseModule):
    """Base of Mugs' losses: a ``(num_global, num_crops)`` matrix of
    per-pair losses (teacher global crop x student crop) reduced with the
    weights of :func:`mugs_pair_weights`.

    The multiplier of each Mugs loss is the algorithm's ``loss_weights``;
    these modules have no ``loss_weight`` of their own.

    Args:
        pair_weighting (str): See :func:`mugs_pair_weights`. Defaults to
            ``'half_global_half_local'``.
        init_cfg (dict, optional): Unused. Defaults to None.
    """

    def __init__(self,
                 pair_weighting: str = 'half_global_half_local',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if pair_weighting not in PAIR_WEIGHTINGS:
            raise ValueError(f'{type(self).__name__}: pair_weighting must be '
                             f'one of {PAIR_WEIGHTINGS}, got '
                             f'{pair_weighting!r}')
        self.pair_weighting = pair_weighting

    def reduce_pairs(self, losses: Tensor) -> Tensor:
        """The weighted sum of a ``(num_global, num_crops)`` loss matrix."""
        num_global, num_crops = losses.shape
        weights = mugs_pair_weights(num_global, num_crops - num_global,
                                    self.pair_weighting)
        return (losses * weights.to(losses.device)).sum()
