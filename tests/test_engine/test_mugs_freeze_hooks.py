"""Mugs' last-layer freeze and teacher-temperature warm-up in a real tiny
Runner, under an epoch-based and an iteration-based loop: while frozen the
prototypes get no gradient, so AdamW leaves their weights, moments and step
count alone; both schedules count epochs of 3 iterations in both loops."""
import pytest
import torch
from mmengine.dataset import default_collate
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from torch.utils.data import DataLoader, Dataset

from mmmgc.engine.hooks import MugsFreezeLastLayerHook
from mmmgc.models.heads import MugsGroupHead
from tests._utils.mugs_fixtures import silence_init_logs, tiny_mugs_cfg

ITERS_PER_EPOCH = 3


class _Crops(Dataset):
    """Six images as 2 + 2 global 32 px crops and 2 local 16 px crops."""

    def __len__(self) -> int:
        return 2 * ITERS_PER_EPOCH

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        crops = [
            torch.randint(0, 256, (3, s, s), generator=g, dtype=torch.uint8)
            for s in (32, 32, 32, 32, 16, 16)
        ]
        ds = DataSample()
        ds.set_field(bool(i % 2), 'mugs_weak')
        return dict(inputs=crops, data_samples=ds)


class _Record(Hook):
    """Snapshot of the prototypes and their AdamW state after each step."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.rows = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        head = runner.model.group_head
        opt = runner.optim_wrapper.optimizer
        v = head.last_layer.weight_v
        mlp = head.mlp[0].weight
        state = opt.state.get(v, {})
        self.rows.append(
            dict(
                iter=runner.iter,
                frozen=head.last_layer_frozen,
                temp=head.teacher_temp,
                v=v.detach().clone(),
                v_step=int(state['step']) if 'step' in state else 0,
                v_exp_avg=state['exp_avg'].clone()
                if 'exp_avg' in state else None,
                mlp_step=int(opt.state[mlp]['step'])))


def _run(tmp_path, loop: str, record: _Record):
    silence_init_logs()
    cfg = tiny_mugs_cfg()
    train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3) \
        if loop == 'epoch' else dict(type='IterBasedTrainLoop',
                                     max_iters=3 * ITERS_PER_EPOCH)
    runner = Runner(
        model=cfg,
        work_dir=str(tmp_path / loop),
        train_dataloader=DataLoader(
            _Crops(), batch_size=2, shuffle=False, collate_fn=default_collate),
        optim_wrapper=dict(
            type='PerParamClipOptimWrapper',
            max_norm=3.0,
            optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.04)),
        train_cfg=train_cfg,
        default_hooks=dict(logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=[
            dict(
                type='MugsTeacherTempHook',
                warmup_temp=0.04,
                temp=0.07,
                warmup_epochs=3),
            dict(type='MugsFreezeLastLayerHook', freeze_epochs=1),
            record,
        ],
        default_scope='mmpretrain',
        experiment_name=f'mugs_freeze_{loop}_{id(record)}')
    v0 = runner.model.group_head.last_layer.weight_v.detach().clone()
    runner.train()
    return v0


@pytest.mark.parametrize('loop', ['epoch', 'iter'])
def test_freeze_and_temperature_across_the_boundary(tmp_path, loop):
    record = _Record()
    _run(tmp_path, loop, record)
    rows = record.rows
    assert len(rows) == 3 * ITERS_PER_EPOCH
    first = rows[0]['v']
    for i, row in enumerate(rows):
        epoch = i // ITERS_PER_EPOCH
        assert row['frozen'] == (epoch == 0), (loop, i)
        # numpy.linspace(0.04, 0.07, 3) per epoch
        assert row['temp'] == pytest.approx([0.04, 0.055, 0.07][epoch])
        assert row['mlp_step'] == i + 1  # the rest of the head steps
    for row in rows[:ITERS_PER_EPOCH]:
        # no update, no weight decay, no AdamW state while frozen
        assert torch.equal(row['v'], first)
        assert row['v_step'] == 0 and row['v_exp_avg'] is None
    # unfrozen: AdamW's count starts at 1 (full-size bias correction)
    for k, row in enumerate(rows[ITERS_PER_EPOCH:]):
        assert row['v_step'] == k + 1
        assert row['v_exp_avg'].abs().sum() > 0
    assert not torch.equal(rows[ITERS_PER_EPOCH]['v'], first)


def test_first_frozen_step_leaves_the_initial_weights(tmp_path):
    """The snapshot before training equals the weights after the frozen
    steps: nothing (weight decay included) touched them."""
    record = _Record()
    v0 = _run(tmp_path, 'iter', record)
    assert torch.equal(record.rows[ITERS_PER_EPOCH - 1]['v'], v0)


def test_drop_grads_only_while_frozen():
    head = MugsGroupHead(8, 16, 4, num_prototypes=5, norm_last_layer=False)
    x = torch.randn(3, 8)
    head.last_layer_frozen = True
    head(x).pow(2).sum().backward()
    # the gradient still flows through the prototypes into the MLP
    assert head.mlp[0].weight.grad.abs().sum() > 0
    assert head.last_layer.drop_grads_()
    assert head.last_layer.weight_v.grad is None
    assert head.last_layer.weight_g.grad is None
    head.zero_grad()
    head.last_layer_frozen = False
    head(x).pow(2).sum().backward()
    assert not head.last_layer.drop_grads_()
    assert head.last_layer.weight_v.grad.abs().sum() > 0
    normed = MugsGroupHead(8, 16, 4, num_prototypes=5, norm_last_layer=True)
    assert not normed.last_layer.weight_g.requires_grad


def test_freeze_hook_needs_one_count():
    with pytest.raises(ValueError, match='exactly one'):
        MugsFreezeLastLayerHook(freeze_epochs=1, freeze_iters=3)
