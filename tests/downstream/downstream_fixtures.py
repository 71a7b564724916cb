"""Session-wide synthetic downstream data and a tiny backbone checkpoint,
generated once in a temporary folder and shared by tests/downstream
(import the fixtures into a test module; a ``conftest.py`` here would
shadow ``tests/conftest.py`` for ``from conftest import ...``)."""
import os.path as osp

import pytest
import torch


@pytest.fixture(scope='session')
def synthetic_data(tmp_path_factory):
    """Paths of the COCO / Cityscapes / ADE20K / VOC synthetic roots."""
    from downstream_data import make_all
    return make_all(str(tmp_path_factory.mktemp('downstream_data')))


@pytest.fixture(scope='session')
def tiny_backbone_ckpt(tmp_path_factory):
    """A backbone file in mmmgc's export format (``backbone.*`` keys of a
    4-layer, 64-wide, patch-16, 64 px ``mmpretrain.VisionTransformer``)."""
    from downstream_cfg import tiny_vit_state_dict

    from mmmgc.checkpoint import backbone_checkpoint
    path = osp.join(str(tmp_path_factory.mktemp('ckpt')), 'tiny_vit.pth')
    torch.save(
        backbone_checkpoint(tiny_vit_state_dict(),
                            dict(source_file='tests/downstream')), path)
    return path
