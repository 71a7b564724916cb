"""A checkpoint never runs code: a malicious pickle (its ``__reduce__``
runs a shell command that writes a marker file), in three layouts, is
refused by every entry point that loads a checkpoint, with an error naming
the file, the type and the opt-in; the marker proves that nothing ran.
The project's own files (RNG states, message hub, release layouts) still
load, and a published file's sha256 suffix is verified."""
import argparse
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmmgc.checkpoint import (ALLOWED_GLOBALS, TRUST_ENV, CheckpointHashError,
                              UntrustedCheckpointError, find_unsafe_globals,
                              hash_suffix, load_checkpoint_file,
                              set_trust_checkpoints)
from tests._utils import REPO_ROOT
from tests._utils.tiny_vit import tiny_vit_arch

PYTHON = sys.executable
LAYOUTS = ('flat', 'mmengine', 'timm')
DEMO = osp.join(REPO_ROOT, 'configs/mgc/mgc_demo.py')
KNN_CFG = osp.join(
    REPO_ROOT, 'configs/mugs/benchmarks/classification/'
    'vit-small-p16_knn-k20-t0.05_in1k.py')
FPN_ADE = osp.join(
    REPO_ROOT, 'configs/mgc/benchmarks/mmsegmentation/'
    'fpn_vit-small-p16_4xb4-40k_ade20k-512x512.py')
DAVIS = osp.join(
    REPO_ROOT, 'configs/mugs/benchmarks/davis/'
    'davis2017_vit-base-p16_label-propagation.py')


class _Payload:
    """Pickles as ``os.system('touch MARKER')``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _tool(rel_path: str):
    path = osp.join(REPO_ROOT, rel_path)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _tiny_vit_sd(prefix: str = '') -> dict:
    from mmpretrain.models import VisionTransformer
    vit = VisionTransformer(arch=tiny_vit_arch(), img_size=32, patch_size=8)
    return {prefix + k: v for k, v in vit.state_dict().items()}


def write_evil(path: str, layout: str, marker: str) -> str:
    """A hostile checkpoint in one of the three layouts users meet."""
    payload = _Payload(marker)
    if layout == 'flat':
        obj = dict(_tiny_vit_sd('backbone.'), extra=payload)
    elif layout == 'mmengine':
        obj = {
            'state_dict': _tiny_vit_sd('backbone.'),
            'meta': {
                'cfg': 'model = dict()',
                'note': payload
            }
        }
    else:
        obj = {'model': _tiny_vit_sd(), 'args': payload}
    torch.save(obj, path)
    return path


@pytest.fixture(autouse=True)
def _untrusted(monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    set_trust_checkpoints(False)
    yield
    set_trust_checkpoints(False)


@pytest.fixture(params=LAYOUTS)
def evil(request, tmp_path):
    marker = str(tmp_path / 'PWNED')
    path = write_evil(
        str(tmp_path / f'evil_{request.param}.pth'), request.param, marker)
    return path, marker


def _assert_refused(text: str, path: str, marker: str) -> None:
    assert not osp.exists(marker), 'code from the checkpoint ran'
    assert f'refusing to load checkpoint {path}' in text, text[-3000:]
    assert 'posix.system' in text
    assert '--trust-checkpoint' in text and TRUST_ENV in text


# ------------------------------------------------------------ the loader
def test_payload_runs_when_unpickled_in_full(evil):
    """Control: the file really is hostile (torch.load(weights_only=False)
    runs its command), so the refusals below mean something."""
    path, marker = evil
    torch.load(path, weights_only=False)
    assert osp.exists(marker)


def test_loader_refuses_and_opt_in_loads(evil, monkeypatch):
    path, marker = evil
    assert find_unsafe_globals(path) == ['posix.system']
    with pytest.raises(UntrustedCheckpointError) as err:
        load_checkpoint_file(path)
    _assert_refused(str(err.value), path, marker)
    # the explicit opt-ins load the file (and so run it)
    monkeypatch.setenv(TRUST_ENV, '1')
    load_checkpoint_file(path)
    assert osp.exists(marker)
    os.remove(marker)
    monkeypatch.delenv(TRUST_ENV)
    set_trust_checkpoints(True)
    load_checkpoint_file(path)
    assert osp.exists(marker)


def test_own_state_types_load_and_nothing_else_is_allowed(tmp_path):
    """What mmmgc checkpoints hold beyond tensors: RNG states (numpy
    uint32 array), message-hub HistoryBuffers (float64 / int64 arrays,
    statistics methods), numpy scalars; releases hold argparse.Namespace."""
    from mmengine.logging import HistoryBuffer, MessageHub

    from mmmgc.engine.hooks import get_rng_state
    hub = MessageHub('sec_test')
    for i in range(3):
        hub.update_scalar('train/loss', float(i) * 0.5)
    hub.update_info('eta', np.float64(12.5))
    obj = dict(
        rng_states=[get_rng_state()],
        message_hub=hub.state_dict(),
        args=argparse.Namespace(arch='vit_small', lr=0.1),
        state_dict={'w': torch.ones(2)})
    path = str(tmp_path / 'own.pth')
    torch.save(obj, path)
    assert find_unsafe_globals(path) == []
    back = load_checkpoint_file(path)
    assert np.array_equal(back['rng_states'][0]['numpy'][1],
                          obj['rng_states'][0]['numpy'][1])
    assert back['rng_states'][0]['python'] == obj['rng_states'][0]['python']
    assert torch.equal(back['rng_states'][0]['torch'],
                       obj['rng_states'][0]['torch'])
    buf = back['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(0.5) and buf.current() == 1.0
    assert back['message_hub']['runtime_info']['eta'] == 12.5
    assert back['args'].arch == 'vit_small'
    # the allow-list is exactly these families, nothing generic
    assert not any(
        n.startswith(('os.', 'posix.', 'subprocess.', 'builtins.'
                      'eval', 'builtins.exec')) for n in ALLOWED_GLOBALS)


def test_getattr_is_only_for_history_buffer(tmp_path):
    """mmengine pickles HistoryBuffer's statistics methods with
    ``getattr``; any other getattr (a way to reach os.system) is refused."""
    import pickle

    class _Getattr:

        def __reduce__(self):
            return (getattr, (argparse.Namespace, '__init__'))

    path = str(tmp_path / 'getattr.pth')
    torch.save({'x': _Getattr()}, path)
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        load_checkpoint_file(path)


def test_hash_suffix_verified(tmp_path):
    publish = _tool('tools/model_converters/publish_model.py')
    sd = {
        'backbone.w': torch.ones(3),
        'momentum_encoder.module.w': torch.ones(3)
    }
    src = tmp_path / 'iter_4.pth'
    torch.save(
        {
            'state_dict': sd,
            'meta': {
                'iter': 4
            },
            'optimizer': {
                'state': {},
                'param_groups': []
            },
            'message_hub': {}
        }, src)
    assert publish.main(
        [str(src),
         str(tmp_path / 'pub' / 'model.pth'), '--strip-teacher']) == 0
    (final, ) = os.listdir(tmp_path / 'pub')
    final = str(tmp_path / 'pub' / final)
    suffix = hash_suffix(final)
    assert suffix is not None and len(suffix) == 8
    from mmmgc.checkpoint import sha256_file
    assert sha256_file(final).startswith(suffix)
    ckpt = load_checkpoint_file(final)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert set(ckpt['state_dict']) == {'backbone.w'}
    # a valid file under a name that claims another hash: refused
    import shutil
    wrong = str(tmp_path / 'pub' / 'other-0badc0de.pth')
    shutil.copy(final, wrong)
    with pytest.raises(CheckpointHashError, match='0badc0de'):
        load_checkpoint_file(wrong)
    os.remove(wrong)
    # a changed byte: refused, naming the file and both hashes
    data = bytearray(open(final, 'rb').read())
    data[-30] ^= 1
    open(final, 'wb').write(bytes(data))
    with pytest.raises(CheckpointHashError, match=suffix):
        load_checkpoint_file(final)
    # keep the optimiser on request; no teacher to strip is an error
    assert publish.main(
        [str(src), str(tmp_path / 'k' / 'm.pth'), '--keep-optimizer']) == 0
    (kept, ) = os.listdir(tmp_path / 'k')
    assert 'optimizer' in load_checkpoint_file(str(tmp_path / 'k' / kept))
    torch.save({'state_dict': {
        'backbone.w': torch.ones(1)
    }}, tmp_path / 'nt.pth')
    assert publish.main(
        [str(tmp_path / 'nt.pth'),
         str(tmp_path / 'x.pth'), '--strip-teacher']) == 1


# ------------------------------------------------------- every entry point
def _convert(path, tmp, fmt):
    tool = _tool('tools/model_converters/convert_official.py')
    return tool.main([path, str(tmp / 'o.pth'), '--format', fmt])


def _run_cli(rel, args, capsys):
    tool = _tool(rel)
    code = tool.main(args)
    return code, capsys.readouterr().err


def _tiny_cfg(config, arch_key='backbone'):
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    bb = cfg.model[arch_key] if arch_key else cfg.model
    bb.arch = tiny_vit_arch()
    bb.img_size = 32
    bb.patch_size = 8
    return cfg


def _entry(name, path, tmp, capsys):
    """Load ``path`` through entry point ``name``; returns the error text
    (the test asserts it is a refusal)."""
    if name.startswith('convert_official'):
        code, err = _run_cli(
            'tools/model_converters/convert_official.py',
            [path, str(tmp / 'o.pth'), '--format',
             name.split(':')[1]], capsys)
        assert code == 1
        return err
    if name == 'extract_backbone':
        code, err = _run_cli('tools/model_converters/extract_backbone.py',
                             [path, str(tmp / 'o.safetensors')], capsys)
        assert code == 1 and not osp.exists(tmp / 'o.safetensors')
        return err
    if name == 'publish_model':
        code, err = _run_cli('tools/model_converters/publish_model.py',
                             [path, str(tmp / 'p.pth')], capsys)
        assert code == 1
        return err
    if name == 'check_transfer':
        code, err = _run_cli('tools/misc/check_transfer.py', [FPN_ADE, path],
                             capsys)
        assert code == 1
        return err
    with pytest.raises(UntrustedCheckpointError) as exc:
        if name == 'knn_dataset':
            from mmmgc.evaluation import knn_from_config
            knn_from_config(_tiny_cfg(KNN_CFG), path)
        elif name == 'vis_attention':
            tool = _tool('tools/visualization/vis_attention.py')
            tool.main([DEMO, path, '--out', str(tmp / 'a.png')])
        elif name == 'demo_report':
            tool = _tool('tools/analysis/demo_report.py')
            tool.main([
                DEMO, path, '--work-dir',
                str(tmp), '--num-train', '20', '--num-test', '10'
            ])
        elif name == 'davis':
            from mmmgc.evaluation import build_davis_backbone
            build_davis_backbone(_tiny_cfg(DAVIS, None), path)
        elif name == 'load_from':
            from mmengine.runner import load_checkpoint
            load_checkpoint(torch.nn.Linear(2, 2), path)
        elif name == 'init_cfg_pretrained':
            from mmpretrain.models import VisionTransformer
            vit = VisionTransformer(
                arch=tiny_vit_arch(),
                img_size=32,
                patch_size=8,
                init_cfg=dict(
                    type='Pretrained', checkpoint=path, prefix='backbone.'))
            vit.init_weights()
        elif name == 'strict_pretrained_vit':
            from mmmgc.models.backbones import StrictPretrainedViT
            vit = StrictPretrainedViT(
                arch=tiny_vit_arch(),
                img_size=32,
                patch_size=8,
                init_cfg=dict(
                    type='Pretrained', checkpoint=path, prefix='backbone.'))
            vit.init_weights()
        elif name == 'knn_items_backbone':
            from mmengine.config import Config

            from mmmgc.evaluation import (build_frozen_backbone,
                                          load_pretrained_backbone)
            backbone = build_frozen_backbone(Config.fromfile(DEMO).model)
            load_pretrained_backbone(backbone, path)
        else:
            raise AssertionError(name)
    return str(exc.value)


ENTRIES = [
    'convert_official:mgc', 'convert_official:mugs', 'convert_official:timm',
    'extract_backbone', 'publish_model', 'check_transfer', 'knn_dataset',
    'knn_items_backbone', 'vis_attention', 'demo_report', 'davis', 'load_from',
    'init_cfg_pretrained', 'strict_pretrained_vit'
]


@pytest.mark.parametrize('entry', ENTRIES)
def test_every_entry_point_refuses(entry, evil, tmp_path, capsys):
    path, marker = evil
    text = _entry(entry, path, tmp_path, capsys)
    _assert_refused(text, path, marker)


def _subprocess(args, tmp_path):
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONPATH=os.pathsep.join(
            [REPO_ROOT, os.environ.get('PYTHONPATH', '')]))
    env.pop(TRUST_ENV, None)
    return subprocess.run(
        [PYTHON] + args,
        cwd=str(tmp_path),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300)


def _runner_cfg(tmp_path):
    from tests._utils import scaleout as u
    cfg = u.tiny_cfg('mgc', max_iters=1, record=False)
    cfg.test_dataloader = dict(cfg.train_dataloader)
    cfg.test_cfg = dict(type='TestLoop')
    cfg.test_evaluator = dict(type='Accuracy')
    return u.dump_cfg(cfg, str(tmp_path / 'tiny_mgc.py'))


@pytest.fixture(scope='module')
def runner(tmp_path_factory):
    """A Runner of a tiny MGC config (built once)."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    tmp = tmp_path_factory.mktemp('runner')
    cfg = Config.fromfile(_runner_cfg(tmp))
    cfg.work_dir = str(tmp / 'w')
    return Runner.from_cfg(cfg)


@pytest.mark.parametrize('how', ['resume', 'load_from'])
def test_runner_refuses_every_layout(how, runner, evil):
    """The calls tools/train.py --resume and tools/test.py make."""
    path, marker = evil
    with pytest.raises(UntrustedCheckpointError) as exc:
        if how == 'resume':
            runner.resume(path)
        else:
            runner.load_checkpoint(path)
    _assert_refused(str(exc.value), path, marker)


@pytest.mark.slow
@pytest.mark.parametrize('tool', ['train_resume', 'test'])
def test_runner_tools_refuse(tool, tmp_path):
    """tools/train.py --resume and tools/test.py (mmengine's load_from), as
    subprocesses (the other layouts: test_runner_refuses_every_layout)."""
    marker = str(tmp_path / 'PWNED')
    path = write_evil(str(tmp_path / 'evil.pth'), 'mmengine', marker)
    cfg = _runner_cfg(tmp_path)
    if tool == 'train_resume':
        args = [
            osp.join(REPO_ROOT, 'tools/train.py'), cfg, '--work-dir',
            str(tmp_path / 'w'), '--resume', path
        ]
    else:
        args = [
            osp.join(REPO_ROOT, 'tools/test.py'), cfg, path, '--work-dir',
            str(tmp_path / 'w')
        ]
    proc = _subprocess(args, tmp_path)
    assert proc.returncode != 0
    assert 'UntrustedCheckpointError' in proc.stdout, proc.stdout[-3000:]
    _assert_refused(proc.stdout, path, marker)


def test_url_scheme_downloads_then_loads_safely(evil, tmp_path):
    """mmengine's http(s) scheme is re-registered: the download is read by
    the same safe loader (exercised here with a file:// URL)."""
    from mmmgc.checkpoint.safe_load import _mmengine_http
    path, marker = evil
    with pytest.raises(UntrustedCheckpointError):
        _mmengine_http('file://' + path, model_dir=str(tmp_path / 'cache'))
    assert not osp.exists(marker)
    good = str(tmp_path / 'good.pth')
    torch.save({'state_dict': {'w': torch.ones(2)}}, good)
    out = _mmengine_http('file://' + good, model_dir=str(tmp_path / 'c2'))
    assert torch.equal(out['state_dict']['w'], torch.ones(2))
