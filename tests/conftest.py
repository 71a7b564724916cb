"""Shared pytest set-up: import mmmgc once (registries, shims), keep torch
on one thread per worker, start every test from the same seed and registry
scope, and provide the repository root and session-wide downstream data.
Helper functions live in :mod:`tests._utils`."""
import os
import os.path as osp

import pytest
import torch

os.environ.setdefault('OMP_NUM_THREADS', '1')
torch.set_num_threads(1)

import mmmgc  # noqa: E402,F401
from tests._utils import REPO_ROOT  # noqa: E402


@pytest.fixture
def repo_root() -> str:
    """The checkout's root folder."""
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


@pytest.fixture(scope='session')
def synthetic_data(tmp_path_factory):
    """Paths of the COCO / Cityscapes / ADE20K / VOC synthetic roots
    (:func:`tests._utils.downstream_data.make_all`), written once per
    session."""
    from tests._utils.downstream_data import make_all
    return make_all(str(tmp_path_factory.mktemp('downstream_data')))


@pytest.fixture(scope='session')
def tiny_backbone_ckpt(tmp_path_factory):
    """A backbone file in mmmgc's export format (``backbone.*`` keys of a
    4-layer, 64-wide, patch-16, 64 px ``mmpretrain.VisionTransformer``),
    written once per session."""
    from mmmgc.checkpoint import backbone_checkpoint
    from tests._utils.downstream_cfg import tiny_vit_state_dict
    path = osp.join(str(tmp_path_factory.mktemp('ckpt')), 'tiny_vit.pth')
    torch.save(
        backbone_checkpoint(tiny_vit_state_dict(),
                            dict(source_file='tests/conftest.py')), path)
    return path
