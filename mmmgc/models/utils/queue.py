"""One FIFO feature queue for every method that needs one (Mugs' instance
and local-group queues, its neighbour buffer, and any MoCo-style memory).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ...utils.dist import concat_all_gather_varsize


class FeatureQueue(nn.Module):
    """A FIFO ring buffer of feature vectors, kept in fp32.

    Correct by construction where reference implementations were not:

    - The write pointer advances by exactly the number of rows written, so
      every slot is written in turn (Mugs' released code advanced it by
      twice the batch and left half of its buffer unwritten).
    - A batch that does not divide the length wraps around: the rows that
      do not fit at the end go to the start.
    - Under DDP, :meth:`enqueue` all-gathers first (rank order, ranks may
      hold different numbers of rows), so every rank writes the same rows
      and the queues stay identical.
    - The contents, the pointer and the fill count are buffers, so they
      travel in the checkpoint and a resumed run has the same queue.

    Args:
        length (int): Number of slots.
        dim (int): Feature dimension.
        init (str): ``'randn_normalized'`` (random unit vectors, as MoCo)
            or ``'zeros'``. Defaults to ``'randn_normalized'``.
        gather (bool): All-gather before enqueueing when distributed.
            Defaults to True.
    """

    def __init__(self,
                 length: int,
                 dim: int,
                 init: str = 'randn_normalized',
                 gather: bool = True) -> None:
        super().__init__()
        if length <= 0 or dim <= 0:
            raise ValueError(f'FeatureQueue needs length > 0 and dim > 0, got '
                             f'length={length}, dim={dim}')
        if init == 'randn_normalized':
            data = F.normalize(torch.randn(length, dim), dim=1)
        elif init == 'zeros':
            data = torch.zeros(length, dim)
        else:
            raise ValueError(f"FeatureQueue init must be 'randn_normalized' "
                             f"or 'zeros', got {init!r}")
        self.length = length
        self.dim = dim
        self.gather = gather
        self.register_buffer('queue', data)
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))
        self.register_buffer('num_filled', torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, x: Tensor) -> None:
        """Write ``x`` (``(n, dim)``, detached) at the pointer, FIFO.

        When ``n`` (after gathering) exceeds the length, only the newest
        ``length`` rows are kept.
        """
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f'FeatureQueue.enqueue expects (n, {self.dim}), '
                             f'got {tuple(x.shape)}')
        if self.gather:
            x = concat_all_gather_varsize(x)
        x = x.detach().to(self.queue.dtype)
        n = x.shape[0]
        if n == 0:
            return
        ptr = int(self.ptr)
        # Row i goes to slot (ptr + i) % length, as if written one by one;
        # when n exceeds the length only the newest `length` rows survive.
        first = max(0, n - self.length)
        x = x[first:]
        idx = (ptr + first + torch.arange(x.shape[0], device=x.device)) \
            % self.length
        self.queue[idx] = x
        self.ptr.fill_((ptr + n) % self.length)
        self.num_filled.fill_(min(self.length, int(self.num_filled) + n))

    def get(self) -> Tensor:
        """A snapshot (clone) of the whole queue, ``(length, dim)``."""
        return self.queue.clone()

    def ordered(self) -> Tensor:
        """The filled rows from oldest to newest (for inspection/tests)."""
        n = int(self.num_filled)
        start = (int(self.ptr) - n) % self.length
        idx = (start + torch.arange(n, device=self.queue.device)) \
            % self.length
        return self.queue[idx]

    def extra_repr(self) -> str:
        return f'length={self.length}, dim={self.dim}, gather={self.gather}'
