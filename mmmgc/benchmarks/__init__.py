"""Step-time benchmark machinery (not imported by ``import mmmgc``): each
method and its MoCo v3 baseline on the same backbone, crops and batch, and
where the time of a train step goes."""
from .step_bench import (MOCOV3_DEMO, OPTIMIZER_IMPLS, SCALES, Bench,
                         fill_queues_, fixed_cost_breakdown,
                         mocov3_multicrop_loss, now, setup_mm, step_segments)

__all__ = [
    'MOCOV3_DEMO', 'SCALES', 'OPTIMIZER_IMPLS', 'mocov3_multicrop_loss',
    'setup_mm', 'fill_queues_', 'Bench', 'step_segments',
    'fixed_cost_breakdown', 'now'
]
