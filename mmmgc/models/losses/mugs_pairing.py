"""Which (teacher crop, student crop) pairs Mugs' losses use, and how they
are averaged."""
from typing import List, Tuple

import torch
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
