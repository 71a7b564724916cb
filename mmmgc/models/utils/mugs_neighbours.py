"""Top-k cosine neighbours of Mugs' local-group discrimination (LGDS)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


@torch.no_grad()
def mugs_topk_neighbours(query: Tensor,
                         bank: Tensor,
                         k: int,
                         num_valid: Optional[int] = None) -> Tensor:
    """The ``k`` rows of ``bank`` with the highest cosine similarity to each
    query, most similar first. No gradient flows.

    Args:
        query (Tensor): ``(n, dim)`` query tokens.
        bank (Tensor): ``(length, dim)`` neighbour buffer.
        k (int): Number of neighbours.
        num_valid (int, optional): Only the first ``num_valid`` rows of the
            bank were ever written (a FIFO fills slots ``0, 1, ...``); when
            at least ``k`` are, the search is restricted to them so that the
            initial contents never count as neighbours. Defaults to None
            (search the whole bank).

    Returns:
        Tensor: ``(n, k, dim)`` neighbours (raw bank rows, not normalised),
        in the dtype of the bank.
    """
    if query.dim() != 2 or bank.dim() != 2 or query.shape[1] != bank.shape[1]:
        raise ValueError('mugs_topk_neighbours expects query (n, d) and bank '
                         f'(m, d), got {tuple(query.shape)} and '
                         f'{tuple(bank.shape)}')
    if num_valid is not None and k <= num_valid < bank.shape[0]:
        bank = bank[:num_valid]
    if not 0 < k <= bank.shape[0]:
        raise ValueError(f'mugs_topk_neighbours: k={k} must be in [1, '
                         f'{bank.shape[0]}] (the neighbour buffer length)')
    with torch.autocast(device_type=query.device.type, enabled=False):
        # cos(q, b) = (q / |q|) . b / |b|: the bank's row norms scale the
        # (n, length) product instead of a normalised copy of the whole
        # (length, dim) bank (one read of the bank instead of a read, a
        # write and a second read: the bank is 65,536 rows in the paper).
        bank32 = bank.float()
        inv_norm = bank32.norm(dim=1).clamp_min_(1e-12).reciprocal_()
        sim = (F.normalize(query.float(), dim=1) @ bank32.t()).mul_(inv_norm)
        index = sim.topk(k, dim=1).indices
    return bank[index]
