"""Checkpoints that name MGC's teacher ``momentum_encoder`` (written before
it was renamed ``teacher``) load into the current model with identical
tensors, through every loading path."""
from collections import OrderedDict

import pytest
import torch
from mmengine.runner.checkpoint import load_checkpoint
from mmpretrain.registry import MODELS

from mmmgc.checkpoint import MGC_KEY_RENAMES, rename_state_dict_keys
from tests._utils.mgc_fixtures import make_batch, tiny_mgc


def to_old_names(sd: dict) -> OrderedDict:
    out = OrderedDict()
    for k, v in sd.items():
        if k.startswith('teacher.'):
            k = 'momentum_encoder.' + k[len('teacher.'):]
        out[k] = v.clone()
    return out


@pytest.fixture(scope='module')
def trained():
    """A tiny MGC after one step, its teacher moved away from the student
    (so a re-synced teacher would be noticed)."""
    torch.manual_seed(0)
    model = tiny_mgc()
    model.train()
    data = model.data_preprocessor(make_batch(), True)
    sum(model.loss(data['inputs'], data['data_samples']).values()).backward()
    with torch.no_grad():
        for p in model.teacher.parameters():
            p.add_(0.5)
    sd = model.state_dict()
    assert any(k.startswith('teacher.module.0.') for k in sd)
    assert not any(k.startswith('momentum_encoder') for k in sd)
    return sd


def fresh(init_cfg=None):
    torch.manual_seed(1)  # other initial weights than ``trained``
    return tiny_mgc(init_cfg=init_cfg)


def assert_loaded(model, sd):
    got = model.state_dict()
    assert list(got) == list(sd)
    for k, v in sd.items():
        assert torch.equal(got[k], v), k


def test_load_state_dict_strict(trained):
    model = fresh()
    key = 'teacher.module.1.projectors.0.0.weight'
    assert not torch.equal(model.state_dict()[key], trained[key])
    old = to_old_names(trained)
    assert sum(k.startswith('momentum_encoder.')
               for k in old) == sum(k.startswith('teacher.')
                                    for k in trained) > 0
    model.load_state_dict(old, strict=True)
    assert_loaded(model, trained)
    assert 'momentum_encoder.module.0.cls_token' in old  # caller's dict kept


def test_mmengine_load_checkpoint(trained, tmp_path):
    """The path of ``load_from`` and of Runner resume."""
    path = tmp_path / 'old.pth'
    torch.save(dict(state_dict=to_old_names(trained), meta=dict()), path)
    model = fresh()
    load_checkpoint(model, str(path), map_location='cpu', strict=True)
    assert_loaded(model, trained)


def test_pretrained_init_keeps_the_old_named_teacher(trained, tmp_path):
    """``init_cfg=Pretrained``: the teacher is loaded, not re-copied from
    the student (it differs from the student in ``trained``)."""
    path = tmp_path / 'old.pth'
    torch.save(dict(state_dict=to_old_names(trained), meta=dict()), path)
    model = fresh(dict(type='Pretrained', checkpoint=str(path)))
    assert_loaded(model, trained)
    t = model.state_dict()['teacher.module.0.cls_token']
    assert not torch.equal(t, model.backbone.cls_token)


def test_new_names_and_both_names(trained):
    model = fresh()
    model.load_state_dict(trained, strict=True)
    assert_loaded(model, trained)
    both = OrderedDict(trained)
    both['momentum_encoder.module.0.cls_token'] = torch.zeros(1)
    with pytest.raises(RuntimeError, match='momentum_encoder'):
        fresh().load_state_dict(both, strict=True)


def test_rename_state_dict_keys():
    sd = OrderedDict([('backbone.w', 1), ('momentum_encoder.module.0.w', 2),
                      ('momentum_encoder.module.1.b', 3), ('head.b', 4)])
    sd._metadata = OrderedDict([('', {}), ('momentum_encoder', {
        'v': 1
    }), ('momentum_encoder.module.0', {
        'v': 2
    })])
    done = rename_state_dict_keys(sd, MGC_KEY_RENAMES)
    assert done == [('momentum_encoder.module.0.w', 'teacher.module.0.w'),
                    ('momentum_encoder.module.1.b', 'teacher.module.1.b')]
    assert list(sd.items()) == [('backbone.w', 1), ('teacher.module.0.w', 2),
                                ('teacher.module.1.b', 3), ('head.b', 4)]
    assert sd._metadata['teacher'] == {'v': 1}
    assert sd._metadata['teacher.module.0'] == {'v': 2}
    # under a parent prefix only that prefix's keys move
    sd = OrderedDict([('model.momentum_encoder.x', 1),
                      ('momentum_encoder.y', 2)])
    rename_state_dict_keys(sd, MGC_KEY_RENAMES, prefix='model.')
    assert list(sd) == ['model.teacher.x', 'momentum_encoder.y']
    # an existing new name is never overwritten
    sd = OrderedDict([('teacher.x', 1), ('momentum_encoder.x', 2)])
    assert rename_state_dict_keys(sd, MGC_KEY_RENAMES) == []
    assert dict(sd) == {'teacher.x': 1, 'momentum_encoder.x': 2}


def test_registered_model_has_the_hook():
    model = MODELS.build(
        dict(
            type='MGC',
            granularities=(1, 2),
            num_samples=(1, 1),
            backbone=dict(
                type='MoCoV3ViT',
                arch='deit-tiny',
                img_size=32,
                patch_size=4,
                out_type='featmap'),
            neck=dict(
                type='MGCProjectionNeck',
                in_channels=192,
                hid_channels=16,
                out_channels=8),
            head=dict(
                type='MGCHead', in_channels=8, hid_channels=16,
                out_channels=8)))
    assert not hasattr(model, 'momentum_encoder')
    assert model.neck.num_branches == model.head.num_branches == 2
    sd = to_old_names(model.state_dict())
    model.load_state_dict(sd, strict=True)
