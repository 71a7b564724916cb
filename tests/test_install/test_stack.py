"""The OpenMMLab stack really works on CPU: mmcv's compiled ops, detection /
segmentation / pose models built around an ``mmpretrain.VisionTransformer``,
and an mmengine Runner that trains, saves and resumes."""
import importlib
import os.path as osp

import pytest
import torch

from tests._utils import REPO_ROOT
from tests._utils.tiny_vit import tiny_vit_arch


def constraint_pins() -> dict:
    """``{distribution name (lower case): version}`` of the exact pins in
    requirements/constraints.txt."""
    pins = {}
    path = osp.join(REPO_ROOT, 'requirements', 'constraints.txt')
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if '==' in line:
                name, version = line.split('==')
                pins[name.strip().lower()] = version.strip()
    return pins


def test_imports_and_versions():
    """The installed stack is the pinned one (public versions: a wheel's
    local label such as ``+cpu`` aside), and every pin of a package that
    mmmgc checks at import lies in its supported range."""
    import mmcv
    import mmdet
    import mmengine
    import mmpose
    import mmpretrain
    import mmseg
    import torchvision
    from packaging.version import Version

    import mmmgc
    from mmmgc.utils.version_check import SUPPORTED
    pins = constraint_pins()
    installed = {
        'mmcv': mmcv,
        'mmengine': mmengine,
        'mmpretrain': mmpretrain,
        'mmdet': mmdet,
        'mmsegmentation': mmseg,
        'mmpose': mmpose,
        'torchvision': torchvision
    }
    for dist, module in installed.items():
        assert dist in pins, f'{dist} is not pinned in constraints.txt'
        assert Version(module.__version__).public == \
            Version(pins[dist]).public, \
            f'{dist}=={module.__version__} installed, {pins[dist]} pinned'
    for name, (lo, hi) in SUPPORTED.items():
        assert Version(lo) <= Version(pins[name]) < Version(hi), \
            f'{name}=={pins[name]} pinned, mmmgc supports >={lo},<{hi}'
    assert isinstance(mmmgc.__version__, str)
    # torchvision's Python transforms work beside the CPU torch wheel.
    from torchvision.transforms import functional as F
    assert F.hflip(torch.arange(4.).view(1, 1, 2, 2))[0, 0, 0, 0] == 1.


def test_version_check_names_package():
    from mmmgc.utils import check_versions
    with pytest.raises(ImportError, match=r'mmcv>=9\.0,<9\.1.*mmcv==2\.1\.0'):
        check_versions({'mmcv': ('9.0', '9.1')})
    with pytest.raises(ImportError, match='not installed'):
        check_versions({'no-such-pkg-mmmgc': ('0.1', '1.0')})


def test_mmcv_ops_cpu():
    from mmcv.ops import RoIAlign, batched_nms, nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [50., 50., 60., 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert dets.shape == (2, 5)
    dets, keep = batched_nms(boxes, scores, torch.tensor([0, 1, 0]),
                             dict(type='nms', iou_threshold=0.5))
    assert sorted(keep.tolist()) == [0, 1, 2]  # different classes kept
    feats = torch.arange(16.).view(1, 1, 4, 4)
    rois = torch.tensor([[0., 0., 0., 4., 4.]])
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2,
                   aligned=True)(feats, rois)
    # aligned box [0, 4) covers pixels 0..3; each 2x2 bin samples exactly
    # its four pixel centres, so the output is the mean of each quadrant
    expected = torch.tensor([[2.5, 4.5], [10.5, 12.5]]).view(1, 1, 2, 2)
    assert torch.allclose(out, expected, atol=1e-5)


def _vit(out_indices=(1, ), out_type='featmap', img_size=64):
    return dict(
        type='mmpretrain.VisionTransformer',
        arch=tiny_vit_arch(),
        img_size=img_size,
        patch_size=8,
        out_indices=list(out_indices),
        out_type=out_type)


def test_mmdet_mask_rcnn_with_vit_backbone_loss():
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.utils import register_all_modules
    from mmengine.hub import get_config
    from mmengine.registry import DefaultScope
    SCOPE = 'mmdet'
    from mmengine.structures import InstanceData
    register_all_modules(init_default_scope=False)
    cfg = get_config('mmdet::_base_/models/mask-rcnn_r50_fpn.py').model
    cfg.backbone = _vit(out_indices=(0, 1))
    cfg.neck = dict(
        type='FPN', in_channels=[64, 64], out_channels=32, num_outs=3)
    cfg.rpn_head.in_channels = 32
    cfg.rpn_head.feat_channels = 32
    cfg.rpn_head.anchor_generator.strides = [8, 16, 32]
    cfg.roi_head.bbox_roi_extractor.out_channels = 32
    cfg.roi_head.bbox_roi_extractor.featmap_strides = [8, 16]
    cfg.roi_head.bbox_head.in_channels = 32
    cfg.roi_head.bbox_head.fc_out_channels = 64
    cfg.roi_head.bbox_head.num_classes = 3
    cfg.roi_head.mask_roi_extractor.out_channels = 32
    cfg.roi_head.mask_roi_extractor.featmap_strides = [8, 16]
    cfg.roi_head.mask_head.in_channels = 32
    cfg.roi_head.mask_head.conv_out_channels = 32
    cfg.roi_head.mask_head.num_classes = 3
    with DefaultScope.overwrite_default_scope(SCOPE):
        model = MODELS.build(cfg)
    model.init_weights()
    imgs = torch.rand(2, 3, 64, 64) * 255
    samples = []
    for _ in range(2):
        s = DetDataSample(
            metainfo=dict(
                img_shape=(64, 64),
                pad_shape=(64, 64),
                ori_shape=(64, 64),
                scale_factor=(1., 1.)))
        inst = InstanceData()
        inst.bboxes = torch.tensor([[4., 4., 30., 30.]])
        inst.labels = torch.tensor([1])
        from mmdet.structures.mask import BitmapMasks
        m = torch.zeros(1, 64, 64, dtype=torch.uint8)
        m[:, 4:30, 4:30] = 1
        inst.masks = BitmapMasks(m.numpy(), 64, 64)
        s.gt_instances = inst
        samples.append(s)
    data = model.data_preprocessor(
        dict(inputs=list(imgs), data_samples=samples), True)
    losses = model(**data, mode='loss')
    total, log_vars = model.parse_losses(losses)
    assert torch.isfinite(total)
    assert 'loss_mask' in losses and 'loss_rpn_cls' in losses
    total.backward()
    assert model.backbone.patch_embed.projection.weight.grad is not None


def test_mmseg_encoder_decoder_fpn_loss():
    from mmengine.hub import get_config
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    SCOPE = 'mmseg'
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = get_config('mmseg::_base_/models/fpn_r50.py').model
    cfg.pop('pretrained', None)
    cfg.data_preprocessor = dict(type='SegDataPreProcessor', size=(64, 64))
    cfg.backbone = _vit(out_indices=(0, 1))
    cfg.neck = dict(
        type='FPN', in_channels=[64, 64], out_channels=32, num_outs=2)
    cfg.decode_head.update(
        in_channels=[32, 32],
        in_index=[0, 1],
        feature_strides=[8, 16],
        channels=16,
        num_classes=4,
        norm_cfg=dict(type='BN'))
    with DefaultScope.overwrite_default_scope(SCOPE):
        model = MODELS.build(cfg)
    model.init_weights()
    samples = []
    for _ in range(2):
        s = SegDataSample(
            metainfo=dict(
                img_shape=(64, 64), pad_shape=(64, 64), ori_shape=(64, 64)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 4, (1, 64, 64)))
        samples.append(s)
    data = model.data_preprocessor(
        dict(
            inputs=[torch.rand(3, 64, 64) * 255 for _ in range(2)],
            data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['decode.loss_ce'])
    losses['decode.loss_ce'].backward()
    model.eval()
    with torch.no_grad():
        out = model(
            **model.data_preprocessor(
                dict(
                    inputs=[torch.rand(3, 64, 64) * 255],
                    data_samples=samples[:1]), False),
            mode='predict')
    assert out[0].pred_sem_seg.data.shape == (1, 64, 64)


def test_mmpose_topdown_with_vit_backbone_loss():
    from mmengine.structures import InstanceData
    from mmpose.registry import MODELS
    from mmpose.structures import PoseDataSample
    from mmpose.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(
            type='PoseDataPreprocessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True),
        backbone=dict(
            type='mmpretrain.VisionTransformer',
            arch=tiny_vit_arch(),
            img_size=(64, 48),
            patch_size=8,
            out_type='featmap',
            with_cls_token=False),
        head=dict(
            type='HeatmapHead',
            in_channels=64,
            out_channels=17,
            deconv_out_channels=(32, ),
            deconv_kernel_sizes=(4, ),
            loss=dict(type='KeypointMSELoss', use_target_weight=True),
            decoder=dict(
                type='UDPHeatmap',
                input_size=(48, 64),
                heatmap_size=(12, 16),
                sigma=2)),
        test_cfg=dict(flip_test=False))
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpose'):
        model = MODELS.build(cfg)
    model.init_weights()
    samples = []
    for _ in range(2):
        s = PoseDataSample(
            metainfo=dict(
                img_shape=(64, 48),
                input_size=(48, 64),
                input_center=torch.tensor([24., 32.]),
                input_scale=torch.tensor([48., 64.])))
        from mmengine.structures import PixelData
        s.gt_fields = PixelData(heatmaps=torch.rand(17, 16, 12))
        inst = InstanceData()
        inst.keypoint_weights = torch.ones(1, 17)
        s.gt_instances = inst
        s.gt_instance_labels = inst
        samples.append(s)
    data = model.data_preprocessor(
        dict(
            inputs=[torch.rand(3, 64, 48) * 255 for _ in range(2)],
            data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_kpt'])
    losses['loss_kpt'].backward()
    assert model.backbone.patch_embed.projection.weight.grad is not None


@pytest.mark.slow
def test_runner_trains_saves_and_resumes(tmp_path):
    """An mmengine Runner trains 2 iterations, saves a checkpoint (which
    loads back through mmmgc's safe loader under torch >= 2.6) and resumes
    from it to the same parameters."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile('configs/mocov3/mocov3_vit-tiny-p8_demo.py')
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.dataset.num_samples = 16
    cfg.train_dataloader.dataset.img_size = 32
    cfg.model.backbone.img_size = 32
    for t in cfg.train_dataloader.dataset.pipeline[0].transforms[0]:
        if t['type'] == 'RandomResizedCrop':
            t['scale'] = 32
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=2, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = str(tmp_path / 'a')
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt = tmp_path / 'a' / 'iter_2.pth'
    assert ckpt.exists()
    trained = {k: v.clone() for k, v in runner.model.state_dict().items()}

    cfg2 = cfg.copy()
    cfg2.work_dir = str(tmp_path / 'b')
    cfg2.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    cfg2.resume = True
    cfg2.load_from = str(ckpt)
    runner2 = Runner.from_cfg(cfg2)
    runner2.train()  # already at max_iters: only loads
    assert runner2.iter == 2
    for k, v in runner2.model.state_dict().items():
        assert torch.equal(v, trained[k]), k


def test_torch_load_shim_is_applied():
    importlib.import_module('mmmgc')
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmmgc.checkpoint.safe_load import _mmengine_http, _mmengine_local
    assert CheckpointLoader._schemes[''] is _mmengine_local
    assert CheckpointLoader._schemes['https://'] is _mmengine_http
