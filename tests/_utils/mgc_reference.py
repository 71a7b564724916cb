"""Slow, obviously-correct reference implementations for the MGC tests."""
import math

import numpy as np


def brute_force_areas(boxes1, flips1, boxes2, flips2, grid, c):
    """Intersection areas per image and cell pair, in float64 loops."""
    g = grid // c
    b = len(boxes1)
    out = np.zeros((b, g * g, g * g))

    def cell_rect(box, flip, r, col):
        x, y, w, h = [float(v) for v in box]
        src_col = g - 1 - col if flip else col
        return (x + src_col * w / g, y + r * h / g, x + (src_col + 1) * w / g,
                y + (r + 1) * h / g)

    for n in range(b):
        for i in range(g * g):
            r1 = cell_rect(boxes1[n], flips1[n], i // g, i % g)
            for j in range(g * g):
                r2 = cell_rect(boxes2[n], flips2[n], j // g, j % g)
                iw = min(r1[2], r2[2]) - max(r1[0], r2[0])
                ih = min(r1[3], r2[3]) - max(r1[1], r2[1])
                out[n, i, j] = max(iw, 0) * max(ih, 0)
    return out


def brute_force_targets(boxes1, flips1, boxes2, flips2, grid, c):
    """Eq. 2 by loops: areas normalised over the view-2 cells."""
    out = brute_force_areas(boxes1, flips1, boxes2, flips2, grid, c)
    for n in range(out.shape[0]):
        s = out[n].sum(1, keepdims=True)
        out[n] = np.where(s > 0, out[n] / np.where(s > 0, s, 1), 0)
    return out


def dense_eq3_loss(q, z, w, queries, keys, tau):
    """Eq. 3 written out with loops.

    Args:
        q: (B, M, D) array of predicted query vectors of every view-1 cell.
        z: (B, M, D) array of key vectors of every view-2 cell.
        w: (B, M, M) correspondence targets (Eq. 2).
        queries: per image, the list of query cells that enter the loss.
        keys: per image, the list of key cells in the softmax.
        tau: temperature.
    """

    def cos(a, b):
        return float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))

    b = q.shape[0]
    total = 0.0
    for i in range(b):
        for kl in queries[i]:
            denom = sum(
                math.exp(cos(q[i, kl], z[j, uv]) / tau) for j in range(b)
                for uv in keys[j])
            for st in keys[i]:
                if w[i, kl, st] > 0:
                    num = math.exp(cos(q[i, kl], z[i, st]) / tau)
                    total += w[i, kl, st] * math.log(num / denom)
    return -total / b
