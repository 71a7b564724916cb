"""Shared pytest set-up: import mmmgc once (registries, shims), keep torch
on one thread per worker, and provide tiny-ViT configs."""
import os

import pytest
import torch

os.environ.setdefault('OMP_NUM_THREADS', '1')
torch.set_num_threads(1)

import mmmgc  # noqa: E402,F401

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_vit_arch(embed_dims: int = 64, num_layers: int = 2,
                  num_heads: int = 4) -> dict:
    """An mmpretrain ViT arch dict for tests (2 layers, 64 wide)."""
    return dict(
        embed_dims=embed_dims,
        num_layers=num_layers,
        num_heads=num_heads,
        feedforward_channels=4 * embed_dims)


@pytest.fixture
def repo_root() -> str:
    return REPO_ROOT


@pytest.fixture(autouse=True)
def _seed_and_scope():
    """Every test starts with seed 0, mmpretrain as the default registry
    scope and an empty MessageHub: a Runner or ``register_all_modules`` of
    an earlier test in the same worker (mmdet, mmseg, mmpose) must not leak
    its scope or its iteration counters into the next test."""
    import uuid

    from mmengine.logging import MessageHub
    from mmengine.registry import DefaultScope
    torch.manual_seed(0)
    name = f'mmmgc-test-{uuid.uuid4().hex}'
    DefaultScope.get_instance(name, scope_name='mmpretrain')
    MessageHub.get_instance(name)
    yield
