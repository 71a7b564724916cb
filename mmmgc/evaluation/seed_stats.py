"""Summaries over training seeds."""
import math
from typing import Sequence, Tuple


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """The mean and the sample standard deviation (``n - 1`` in the
    denominator; 0 for a single value) of ``values``.

    Raises:
        ValueError: If ``values`` is empty.
    """
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError('mean_std: no values')
    mean = sum(vals) / len(vals)
    if len(vals) == 1:
        return mean, 0.0
    var = sum((v - mean)**2 for v in vals) / (len(vals) - 1)
    return mean, math.sqrt(var)
