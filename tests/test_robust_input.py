"""Bad input never costs a run (issue 6, item 4): every kind of awkward or
broken image file has a defined outcome, a missing/empty data root fails
at start naming the path, and a non-finite loss stops the run at the
iteration it happens, before the step, saving nothing after the last good
checkpoint."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from PIL import Image

from mmmgc.datasets import UnlabeledImageFolder
from mmmgc.datasets.transforms import RobustLoadImage, UnreadableImageError
from mmmgc.datasets.transforms.loading import SKIP_LOG_ENV
from mmmgc.engine.hooks import NonFiniteLossError


def make_bad_folder(root):
    """The folder of issue 6: good and awkward images plus broken files.
    Returns {filename: expected outcome}."""
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(osp.join(root, 'good.jpg'), quality=95)
    Image.fromarray(rgb).save(osp.join(root, 'full.jpg'), quality=95)
    with open(osp.join(root, 'full.jpg'), 'rb') as f:
        data = f.read()
    with open(osp.join(root, 'truncated.jpg'), 'wb') as f:
        f.write(data[:len(data) // 2])
    os.remove(osp.join(root, 'full.jpg'))
    Image.fromarray(rgb).convert('CMYK').save(osp.join(root, 'cmyk.jpg'))
    img16 = (rng.integers(0, 65535, (20, 30))).astype(np.uint16)
    Image.fromarray(img16).save(osp.join(root, 'depth16.png'))
    pal = Image.fromarray(rgb).convert('P', palette=Image.ADAPTIVE,
                                       colors=8)
    pal.info['transparency'] = 0
    pal.save(osp.join(root, 'palette_transparent.png'), transparency=0)
    Image.fromarray(np.full((1, 1, 3), 200, np.uint8)).save(
        osp.join(root, 'one_pixel.png'))
    Image.fromarray(rgb[..., 0]).save(osp.join(root, 'gray.png'))
    open(osp.join(root, 'zero_bytes.jpg'), 'wb').close()
    with open(osp.join(root, 'not_an_image.png'), 'w') as f:
        f.write('this is a text file with an image extension\n')
    with open(osp.join(root, 'README.txt'), 'w') as f:
        f.write('not an image extension: ignored at scan time\n')
    return {
        'good.jpg': 'used',
        'truncated.jpg': 'skip',
        'cmyk.jpg': 'used',
        'depth16.png': 'used',
        'palette_transparent.png': 'used',
        'one_pixel.png': 'used',
        'gray.png': 'used',
        'zero_bytes.jpg': 'skip',
        'not_an_image.png': 'skip',
    }


def test_each_bad_input_has_a_defined_outcome(tmp_path, monkeypatch):
    root = str(tmp_path / 'imgs')
    expected = make_bad_folder(root)
    log = str(tmp_path / 'skipped.tsv')
    monkeypatch.setenv(SKIP_LOG_ENV, log)
    load = RobustLoadImage()
    for name, outcome in expected.items():
        path = osp.join(root, name)
        if outcome == 'used':
            out = load(dict(img_path=path))
            img = out['img']
            assert img.dtype == np.uint8 and img.ndim == 3, name
            assert img.shape[2] == 3, name
        else:
            with pytest.warns(UserWarning, match=name):
                assert load(dict(img_path=path)) is None
            with pytest.raises(UnreadableImageError, match=name):
                RobustLoadImage(on_error='raise')(dict(img_path=path))
    with open(log) as f:
        skipped = sorted(osp.basename(line.split('\t')[0]) for line in f)
    assert skipped == sorted(n for n, o in expected.items() if o == 'skip')
    # 16-bit is scaled by its maximum, not truncated to the low byte
    out = load(dict(img_path=osp.join(root, 'depth16.png')))
    assert out['img'].max() == 255
    # truncated files can be decoded on request instead
    out = RobustLoadImage(load_truncated=True)(
        dict(img_path=osp.join(root, 'truncated.jpg')))
    assert out['img'].shape == (40, 48, 3)


def test_image_folder_errors_name_the_path(tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        UnlabeledImageFolder(data_root=missing)
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'notes.txt').write_text('x')
    with pytest.raises(ValueError, match='empty'):
        UnlabeledImageFolder(data_root=str(empty))


@pytest.mark.slow
def test_pretraining_epoch_over_bad_folder_skips_and_reports(tmp_path):
    """A real (tiny) MoCo v3 pretraining epoch over the bad folder: no
    crash, the broken files are skipped and counted, the rest are used."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    root = str(tmp_path / 'imgs')
    expected = make_bad_folder(root)
    cfg = Config.fromfile('configs/mocov3/mocov3_vit-tiny-p8_demo.py')
    pipeline = cfg.train_dataloader.dataset.pipeline
    for t in pipeline[0].transforms[0]:
        if t['type'] == 'RandomResizedCrop':
            t['scale'] = 32
    cfg.train_dataloader.dataset = dict(
        type='UnlabeledImageFolder', data_root=root,
        pipeline=[dict(type='RobustLoadImage')] + list(pipeline))
    cfg.train_dataloader.batch_size = 3
    cfg.train_dataloader.drop_last = False
    cfg.model.backbone.img_size = 32
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.custom_hooks = [dict(type='BadImageReportHook')]
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    assert len(runner.train_dataloader.dataset) == len(expected)
    runner.train()
    assert runner.epoch == 1
    with open(osp.join(cfg.work_dir, 'skipped_images.tsv')) as f:
        skipped = {osp.basename(line.split('\t')[0]) for line in f}
    assert skipped == {n for n, o in expected.items() if o == 'skip'}
    assert osp.isfile(osp.join(cfg.work_dir, 'epoch_1.pth'))


class _NaNAtIterModel(BaseModel):
    """loss = (w - x)^2, where the batch value becomes NaN at a set iter."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([1.0]))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = inputs.float()
        loss = ((self.w - x)**2).mean()
        return dict(loss=loss)


def test_non_finite_loss_stops_before_step_and_saves_nothing(tmp_path):
    from mmengine.runner import Runner
    data = [dict(inputs=torch.tensor([0.5]))] * 4 + [
        dict(inputs=torch.tensor([float('nan')]))
    ] * 4
    runner = Runner(
        model=_NaNAtIterModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=4),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1,
                            by_epoch=False)),
        custom_hooks=[dict(type='NonFiniteLossHook')],
        default_scope='mmpretrain')
    with pytest.raises(NonFiniteLossError, match='iteration 3'):
        runner.train()
    # the last good state: 2 SGD steps towards 0.5, no NaN step applied
    # (w <- w - 0.1 * 2 (w - 0.5): 1.0 -> 0.9 -> 0.82)
    assert runner.model.w.item() == pytest.approx(0.82, abs=1e-6)
    saved = sorted(p for p in os.listdir(tmp_path) if p.endswith('.pth'))
    assert saved == ['iter_1.pth', 'iter_2.pth']
