"""Bad input never costs a run: every kind of awkward or broken image file
has a defined outcome, a missing/empty data root fails at start naming the
path, and a non-finite loss stops the run at the iteration it happens,
before the step, saving nothing after the last good checkpoint."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from PIL import Image

from mmmgc.datasets import UnlabeledImageFolder
from mmmgc.datasets.transforms import RobustLoadImage, UnreadableImageError
from mmmgc.engine.hooks import NonFiniteLossError
from mmmgc.utils import SKIP_LOG_ENV


def make_bad_folder(root):
    """A folder of good and awkward images plus broken files.
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
    pal = Image.fromarray(rgb).convert('P', palette=Image.ADAPTIVE, colors=8)
    pal.info['transparency'] = 0
    pal.save(osp.join(root, 'palette_transparent.png'), transparency=0)
    Image.fromarray(np.full((1, 1, 3), 200,
                            np.uint8)).save(osp.join(root, 'one_pixel.png'))
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
        type='UnlabeledImageFolder',
        data_root=root,
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
    data = [dict(inputs=torch.tensor([0.5]))
            ] * 4 + [dict(inputs=torch.tensor([float('nan')]))] * 4
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


# --------------------------------------------------------- hostile images
def _png_chunk(tag: bytes, data: bytes) -> bytes:
    import struct
    import zlib
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack('>I', len(data)) + tag + data + struct.pack('>I', crc)


def write_png_header_only(path, width, height, rows=0, level=9):
    """An 8-bit grayscale PNG whose header claims ``width x height``.

    ``rows`` rows of zeros are really compressed into the file (all of them
    give a valid decompression bomb: 20,000 x 20,000 is ~390 KB); fewer
    give a file whose data ends early. Nothing of that size is ever held in
    memory here (the rows are compressed in chunks).
    """
    import struct
    import zlib
    comp = zlib.compressobj(level)
    parts, done = [], 0
    row_block = b'\x00' * ((width + 1) * min(rows, 500))
    while done < rows:
        n = min(500, rows - done)
        parts.append(comp.compress(row_block[:(width + 1) * n]))
        done += n
    parts.append(comp.flush())
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + _png_chunk(b'IHDR', ihdr) +
                _png_chunk(b'IDAT', b''.join(parts)) +
                _png_chunk(b'IEND', b''))


@pytest.fixture(scope='module')
def hostile_folder(tmp_path_factory):
    """Good images plus hostile ones. Returns (root, {name: reason regex})
    for the files that must be skipped."""
    root = tmp_path_factory.mktemp('hostile')
    rng = np.random.default_rng(1)
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), np.uint8)).save(
            root / f'good{i}.jpg', quality=95)
    # a real decompression bomb: every row is there (~390 KB on disk,
    # 400 MB of pixels); Pillow itself raises DecompressionBombError
    write_png_header_only(root / 'bomb.png', 20000, 20000, rows=20000)
    # a header with absurd dimensions and almost no data
    write_png_header_only(root / 'absurd_header.png', 1 << 30, 1 << 30, rows=0)
    # just over the default max_pixels (89,478,485) but under Pillow's own
    # error limit (2x): Pillow would only warn and decode ~90 MB
    write_png_header_only(root / 'just_over.png', 10000, 8948, rows=8948)
    return str(root), {
        'bomb.png': 'max_pixels',
        'absurd_header.png': 'max_pixels',
        'just_over.png': 'max_pixels',
    }


def test_bomb_file_is_small_and_a_real_bomb(hostile_folder):
    from PIL import Image as PILImage
    root, _ = hostile_folder
    path = osp.join(root, 'bomb.png')
    assert 100_000 < osp.getsize(path) < 1_000_000
    with pytest.raises(PILImage.DecompressionBombError):
        PILImage.open(path)


def test_hostile_images_are_named_skips_never_decoded(hostile_folder, tmp_path,
                                                      monkeypatch):
    from PIL import ImageFile
    root, hostile = hostile_folder
    log = str(tmp_path / 'skipped.tsv')
    monkeypatch.setenv(SKIP_LOG_ENV, log)
    loads = []
    original_load = ImageFile.ImageFile.load

    def spy_load(self, *args, **kwargs):
        loads.append(self.size)
        return original_load(self, *args, **kwargs)

    monkeypatch.setattr(ImageFile.ImageFile, 'load', spy_load)
    load = RobustLoadImage()
    for name, reason in hostile.items():
        path = osp.join(root, name)
        with pytest.warns(UserWarning, match=name):
            assert load(dict(img_path=path)) is None
        with pytest.raises(UnreadableImageError, match=f'{name}.*{reason}'):
            RobustLoadImage(on_error='raise')(dict(img_path=path))
    assert loads == []  # refused on the header: no pixel decoded
    with open(log) as f:
        rows = [line.rstrip('\n').split('\t') for line in f]
    assert sorted(osp.basename(p) for p, _ in rows) == sorted(hostile)
    assert all('max_pixels' in why for _, why in rows)
    # good images still load (and are decoded)
    assert load(dict(img_path=osp.join(root, 'good0.jpg')))['img'].shape \
        == (48, 64, 3)
    assert loads and set(loads) == {(64, 48)}


def test_max_pixels_is_a_configurable_limit(hostile_folder, monkeypatch):
    root, _ = hostile_folder
    good = osp.join(root, 'good0.jpg')  # 64 x 48 = 3072 pixels
    assert RobustLoadImage(max_pixels=3072)(dict(img_path=good)) is not None
    with pytest.raises(
            UnreadableImageError,
            match=r'good0\.jpg.*64 x 48.*max_pixels=3071'):
        RobustLoadImage(max_pixels=3071, on_error='raise')(dict(img_path=good))
    # the limit replaces Pillow's own: with Pillow's lowered below the
    # image (it would raise DecompressionBombError), max_pixels decides
    from PIL import Image as PILImage
    monkeypatch.setattr(PILImage, 'MAX_IMAGE_PIXELS', 1000)
    assert RobustLoadImage(
        max_pixels=10**4,
        on_error='raise')(dict(img_path=good))['img'].shape == (48, 64, 3)
    assert PILImage.MAX_IMAGE_PIXELS == 1000  # restored after the open
    for bad in (0, -1, 2.5, True, '1e6'):
        with pytest.raises(ValueError, match='max_pixels'):
            RobustLoadImage(max_pixels=bad)
    assert 'max_pixels=89478485' in repr(RobustLoadImage())


@pytest.mark.parametrize('exc', [
    ZeroDivisionError('division by zero in a plugin'),
    MemoryError('cannot allocate'),
    IndexError('tile out of range'),
    RuntimeError('decoder state'),
])
def test_any_decoder_exception_is_a_named_skip(exc, tmp_path, monkeypatch):
    from PIL import ImageFile
    path = tmp_path / 'hostile.png'
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)

    def failing_load(self, *args, **kwargs):
        raise exc

    monkeypatch.setattr(ImageFile.ImageFile, 'load', failing_load)
    monkeypatch.setenv(SKIP_LOG_ENV, str(tmp_path / 'skipped.tsv'))
    with pytest.warns(UserWarning, match='hostile.png'):
        assert RobustLoadImage()(dict(img_path=str(path))) is None
    with pytest.raises(
            UnreadableImageError, match=f'hostile.png.*{type(exc).__name__}'):
        RobustLoadImage(on_error='raise')(dict(img_path=str(path)))
    assert 'hostile.png' in (tmp_path / 'skipped.tsv').read_text()


@pytest.mark.slow
def test_pretraining_epoch_over_hostile_folder(hostile_folder, tmp_path):
    """A real (tiny) MGC pretraining epoch over a folder with a
    decompression bomb and absurd headers: the epoch completes, the hostile
    files are counted and named in the skip list and in the log."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    root, hostile = hostile_folder
    cfg = Config.fromfile('configs/mgc/mgc_demo.py')
    crop = cfg.train_dataloader.dataset.pipeline[0]
    crop.size = 32
    cfg.train_dataloader.dataset = dict(
        type='UnlabeledImageFolder',
        data_root=root,
        pipeline=[dict(type='RobustLoadImage')] +
        list(cfg.train_dataloader.dataset.pipeline))
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.drop_last = False
    cfg.model.backbone.img_size = 32
    cfg.model.granularities = (1, 2)
    cfg.model.num_samples = (3, 2)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.custom_hooks = [dict(type='BadImageReportHook')]
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    assert len(runner.train_dataloader.dataset) == 5 + len(hostile)
    runner.train()
    assert runner.epoch == 1
    assert osp.isfile(osp.join(cfg.work_dir, 'epoch_1.pth'))
    with open(osp.join(cfg.work_dir, 'skipped_images.tsv')) as f:
        rows = [line.rstrip('\n').split('\t') for line in f]
    assert {osp.basename(p) for p, _ in rows} == set(hostile)
    assert all('max_pixels' in why for _, why in rows)
    logs = [
        osp.join(dp, n) for dp, _, ns in os.walk(cfg.work_dir) for n in ns
        if n.endswith('.log')
    ]
    text = ''.join(open(p).read() for p in logs)
    assert 'unreadable image load(s)' in text
    assert 'skipped_images.tsv' in text
