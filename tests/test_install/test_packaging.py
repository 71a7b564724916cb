"""Packaging as OpenMMLab users expect it.

* The model index (``model-index.yml`` and ``configs/*/metafile.yml``) has
  the fields ``mim search`` shows, and every config it names exists.
* A wheel built from the repo carries ``configs/``, ``tools/`` and the model
  index under ``mmmgc/.mim``; installed into a fresh venv that shares the
  pinned stack, ``mim search / train / run / test mmmgc`` work from there.
* In the environment that ``tools/install.sh`` builds (the one running the
  tests), ``mim search mmmgc`` and a short ``mim train`` work.
"""
import glob
import importlib.util
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from typing import Dict, List, Optional

import pytest
import yaml

from tests._utils import REPO_ROOT

# A few iterations of the demo: 1 epoch of 64 scenes at batch 16.
SHORT_TRAIN = [
    '--cfg-options', 'train_cfg.max_epochs=1',
    'train_dataloader.dataset.num_samples=64', 'train_dataloader.batch_size=16'
]

# A classifier on the demo's backbone (2 layers, 64 wide, patch 8, 64 px),
# evaluated on embedded Fashion-MNIST items: the target of `mim test`.
CLS_TEST_CONFIG = """
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmmgc'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=10,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='VisionTransformer',
        arch=dict(embed_dims=64, num_layers=2, num_heads=4,
                  feedforward_channels=256),
        img_size=64,
        patch_size=8,
        out_type='cls_token'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
test_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='FashionMNISTItems',
        split='test',
        num_samples=64,
        pipeline=[dict(type='PackInputs')]))
test_evaluator = dict(type='Accuracy', topk=(1, ))
test_cfg = dict(type='TestLoop')
env_cfg = dict(dist_cfg=dict(backend='gloo'))
"""


def load_model_index(root: str) -> Dict[str, list]:
    """The metafiles that ``root/model-index.yml`` imports, parsed.

    Returns:
        dict: metafile path (relative to ``root``) -> its YAML content.
    """
    with open(osp.join(root, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    return {
        path: yaml.safe_load(open(osp.join(root, path)))
        for path in index['Import']
    }


def model_names(root: str) -> List[str]:
    return [
        model['Name'] for meta in load_model_index(root).values()
        for model in meta['Models']
    ]


def clean_env(**extra: str) -> Dict[str, str]:
    """The caller's environment without PYTHONPATH (so that a subprocess
    imports the installed mmmgc, never a checkout that PYTHONPATH names),
    one thread per process."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONWARNINGS='ignore',
        **extra)
    return env


def run(cmd: List[str], cwd: str, timeout: int = 300) -> str:
    """Run ``cmd``; fail the test with its output when it fails."""
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)
    assert proc.returncode == 0, (
        f'{" ".join(cmd)} exited with {proc.returncode}:\n'
        f'{proc.stdout[-6000:]}')
    return proc.stdout


def source_files(root: str) -> List[str]:
    """Files of the checkout (tracked or untracked, not git-ignored);
    without git, every file outside the usual build and cache folders."""
    try:
        out = subprocess.run(
            ['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            check=True).stdout
        files = [f for f in out.splitlines() if osp.isfile(osp.join(root, f))]
        if files:
            return files
    except (OSError, subprocess.CalledProcessError):
        pass
    skip = {
        '.git', '.venv', 'build', 'dist', 'work_dirs', 'data', '.mim',
        '__pycache__', '.pytest_cache'
    }
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [
            d for d in dirnames
            if d not in skip and not d.endswith('.egg-info')
        ]
        files += [
            osp.relpath(osp.join(dirpath, f), root) for f in filenames
            if not f.endswith('.pyc')
        ]
    return files


def mim_shipped_files(root: str) -> List[str]:
    """What setup.py must put under mmmgc/.mim: configs/, tools/ and the
    model index, as paths relative to mmmgc/.mim."""
    return sorted(
        f for f in source_files(root)
        if f.startswith(('configs/', 'tools/')) or f == 'model-index.yml')


# --------------------------------------------------------------------------
# The model index


def test_model_index_has_the_fields_mim_search_shows():
    metafiles = load_model_index(REPO_ROOT)
    assert sorted(metafiles) == sorted(
        osp.relpath(p, REPO_ROOT) for p in glob.glob(
            osp.join(REPO_ROOT, 'configs', '*', 'metafile.yml'))), (
                'model-index.yml must import every configs/*/metafile.yml')
    names = []
    for path, meta in metafiles.items():
        collections = {c['Name']: c for c in meta['Collections']}
        for coll in collections.values():
            assert re.match(r'https://arxiv\.org/abs/', coll['Paper']['URL'])
            assert coll['Paper']['Title'], path
            assert osp.isfile(osp.join(REPO_ROOT, coll['README'])), (
                f'{path}: README {coll["README"]} does not exist')
        for model in meta['Models']:
            name = model['Name']
            where = f'{path}: model {name}'
            names.append(name)
            coll = collections[model['In Collection']]
            assert model['Paper'] == coll['Paper']['URL'], where
            config = model['Config']
            assert osp.isfile(
                osp.join(REPO_ROOT,
                         config)), (f'{where}: config {config} does not exist')
            assert osp.splitext(osp.basename(config))[0] == name, where
            metadata = model['Metadata']
            assert isinstance(metadata['Epochs'], int), where
            assert isinstance(metadata['Batch Size'], int), where
            source = metadata['Results Source']
            results = model.get('Results') or []
            if results:
                # published numbers are labelled as the paper's / authors'
                assert source.startswith(
                    ('paper, not reproduced', "the authors' released")), where
                for result in results:
                    assert result['Task'] and result['Dataset'], where
                    assert result['Metrics'], where
                    for value in result['Metrics'].values():
                        assert isinstance(value, (int, float)), where
            else:
                assert source.startswith('none'), where
            # no checkpoint of this project is published yet
            assert 'Weights' not in model, (
                f'{where}: Weights named but no checkpoint is published')
    assert len(names) == len(set(names)), 'model names must be unique'
    assert {'mgc_demo', 'mugs_demo'} <= set(names)


def test_model_index_loads_with_mims_parser():
    """``mim search`` reads the index with the modelindex library; every
    model comes through with its config and collection."""
    from modelindex.load_model_index import load

    index = load(osp.join(REPO_ROOT, 'model-index.yml'))
    models = {m.name: m for m in index.models}
    assert sorted(models) == sorted(model_names(REPO_ROOT))
    for model in models.values():
        assert osp.isfile(osp.join(REPO_ROOT, model.config)), model.name
        assert model.in_collection in ('MGC', 'Mugs'), model.name
        assert model.paper.startswith('https://arxiv.org/abs/'), model.name


# --------------------------------------------------------------------------
# A wheel in a fresh venv that shares the pinned stack


def stack_site_dirs() -> List[str]:
    """The site-packages folders of the running environment."""
    dirs = [sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib']]
    dirs += [p for p in sys.path if p.endswith('site-packages')]
    return list(dict.fromkeys(osp.realpath(d) for d in dirs if osp.isdir(d)))


# Both wheel tests share one build (module scope); under xdist their group
# keeps them on one worker.
@pytest.fixture(scope='module')
def wheel_venv(tmp_path_factory) -> Dict[str, str]:
    """Build a wheel from a copy of the checkout (the build must not turn the
    checkout's mmmgc/.mim links into copies) and install it with --no-deps
    into a new venv whose site-packages points at the running stack."""
    tmp = str(tmp_path_factory.mktemp('wheel'))
    src = osp.join(tmp, 'src')
    for rel in source_files(REPO_ROOT):
        if rel.startswith(('tests/', 'docs/')):
            continue
        dst = osp.join(src, rel)
        os.makedirs(osp.dirname(dst), exist_ok=True)
        shutil.copy2(osp.join(REPO_ROOT, rel), dst)
    dist = osp.join(tmp, 'dist')
    run([
        sys.executable, '-m', 'pip', '--disable-pip-version-check', 'wheel',
        '-q', '--no-deps', '--no-build-isolation', '-w', dist, src
    ],
        cwd=tmp)
    wheels = glob.glob(osp.join(dist, 'mmmgc-*.whl'))
    assert len(wheels) == 1, os.listdir(dist)

    venv = osp.join(tmp, 'venv')
    run([sys.executable, '-m', 'venv', '--without-pip', venv], cwd=tmp)
    python = osp.join(venv, 'bin', 'python')
    site = subprocess.run([
        python, '-c', 'import sysconfig; '
        'print(sysconfig.get_paths()["purelib"])'
    ],
                          stdout=subprocess.PIPE,
                          text=True,
                          check=True).stdout.strip()
    with open(osp.join(site, 'zz_pinned_stack.pth'), 'w') as f:
        f.write('\n'.join(stack_site_dirs()) + '\n')
    run([
        python, '-m', 'pip', '--disable-pip-version-check', 'install', '-q',
        '--no-deps', '--no-index', wheels[0]
    ],
        cwd=tmp)
    return dict(tmp=tmp, src=src, wheel=wheels[0], python=python, site=site)


@pytest.mark.slow
@pytest.mark.xdist_group('packaging_wheel')
def test_wheel_carries_configs_tools_and_model_index(wheel_venv):
    names = set(zipfile.ZipFile(wheel_venv['wheel']).namelist())
    shipped = mim_shipped_files(wheel_venv['src'])
    assert 'configs/mgc/mgc_demo.py' in shipped
    assert 'tools/train.py' in shipped and 'tools/test.py' in shipped
    missing = [f for f in shipped if f'mmmgc/.mim/{f}' not in names]
    assert not missing, f'not in the wheel: {missing}'
    for meta in load_model_index(REPO_ROOT).values():
        for model in meta['Models']:
            assert f'mmmgc/.mim/{model["Config"]}' in names, model['Name']

    # installed: the package lies in the venv, not in the checkout, and mim
    # resolves it there
    out = run([
        wheel_venv['python'], '-c', 'import os.path as osp; '
        'from importlib.util import find_spec; '
        'from mim.utils import get_installed_path; '
        'print(osp.dirname(find_spec("mmmgc").origin)); '
        'print(get_installed_path("mmmgc"))'
    ],
              cwd=wheel_venv['tmp'])
    pkg_dir, mim_dir = out.strip().splitlines()[-2:]
    expected = osp.join(wheel_venv['site'], 'mmmgc')
    assert pkg_dir == expected and mim_dir == expected
    for f in shipped:
        assert osp.isfile(osp.join(expected, '.mim', f)), f


def check_search(out: str, names: List[str]) -> None:
    found = re.findall(r'config id: (\S+)', out)
    assert sorted(found) == sorted(names), out[-3000:]
    # the paper's numbers come with their source
    assert 'paper, not reproduced' in out
    assert 'https://arxiv.org/abs/2407.02014' in out


def check_short_train(python: str, cwd: str, pkg_dir: Optional[str]) -> str:
    """``mim train mmmgc mgc_demo.py`` for 4 iterations; returns the
    checkpoint. ``pkg_dir``: where mim must find tools/train.py."""
    work_dir = osp.join(cwd, 'work_dir')
    out = run(
        [
            python, '-m', 'mim', 'train', 'mmmgc', 'mgc_demo.py', '--work-dir',
            work_dir
        ] + SHORT_TRAIN,
        cwd=cwd)
    assert 'Training finished successfully' in out, out[-3000:]
    command = re.search(r'Training command is (.*)', out).group(1)
    script = command.split()[1]
    assert script.endswith(osp.join('.mim', 'tools', 'train.py')), command
    if pkg_dir is not None:
        assert script.startswith(pkg_dir + os.sep), command
    assert re.search(r'Epoch\(train\) +\[1\]\[4/4\]', out), out[-3000:]
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    return ckpt


@pytest.mark.slow
@pytest.mark.xdist_group('packaging_wheel')
def test_mim_search_train_run_test_from_the_wheel(wheel_venv):
    python, tmp = wheel_venv['python'], wheel_venv['tmp']
    pkg_dir = osp.join(wheel_venv['site'], 'mmmgc')
    out = run([python, '-m', 'mim', 'search', 'mmmgc'], cwd=tmp)
    check_search(out, model_names(REPO_ROOT))

    ckpt = check_short_train(python, tmp, pkg_dir)

    # mim run: a tool from the package's tools/ folder
    backbone = osp.join(tmp, 'backbone.pth')
    out = run([
        python, '-m', 'mim', 'run', 'mmmgc', 'extract_backbone', ckpt, backbone
    ],
              cwd=tmp)
    assert re.search(r'Use the script (\S+) for command',
                     out).group(1).startswith(pkg_dir + os.sep), out[-3000:]
    assert osp.isfile(backbone)

    # mim test: the extracted backbone in a classifier on embedded data
    config = osp.join(tmp, 'fmnist_cls_test.py')
    with open(config, 'w') as f:
        f.write(CLS_TEST_CONFIG)
    metrics = osp.join(tmp, 'metrics.json')
    out = run([
        python, '-m', 'mim', 'test', 'mmmgc', config, '--checkpoint', backbone,
        '--work-dir',
        osp.join(tmp, 'test_dir'), '--out', metrics
    ],
              cwd=tmp)
    assert re.search(r'Testing command is \S+ (\S+)',
                     out).group(1).startswith(pkg_dir + os.sep), out[-3000:]
    with open(metrics) as f:
        top1 = json.load(f)['accuracy/top1']
    assert 0.0 <= top1 <= 100.0


@pytest.mark.slow
def test_mim_search_and_train_in_this_environment(tmp_path):
    """The environment running the tests (``tools/install.sh``'s): mim must
    resolve mmmgc to a package folder that has .mim/ (a PEP 660 editable
    install would give site-packages/mmmgc, which does not exist)."""
    assert importlib.util.find_spec('mim') is not None, (
        'openmim is missing: tools/install.sh installs it '
        '(requirements/optional.txt)')
    out = run([
        sys.executable, '-c', 'from mim.utils import get_installed_path; '
        'print(get_installed_path("mmmgc"))'
    ],
              cwd=str(tmp_path))
    pkg_dir = out.strip().splitlines()[-1]
    index = osp.join(pkg_dir, '.mim', 'model-index.yml')
    assert osp.isfile(index), (
        f'mim looks for mmmgc in {pkg_dir}, which has no .mim/: re-link the '
        'checkout with `bash tools/install.sh --develop`')
    out = run([sys.executable, '-m', 'mim', 'search', 'mmmgc'],
              cwd=str(tmp_path))
    check_search(out, model_names(osp.join(pkg_dir, '.mim')))
    check_short_train(sys.executable, str(tmp_path), pkg_dir)
