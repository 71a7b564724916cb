"""tools/reproduce.py: the tables as data, the commands of the three
launchers (dry run), the step records, resumption and the results table.
The end-to-end run on tiny configs is in test_reproduce_e2e.py."""
import io
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmmgc.reproduce import (Chain, Launcher, StepFailed, TableError,
                             format_option, get_table, load_tables,
                             split_row_options, tables_file, write_results)
from tests._utils import REPO_ROOT

PY = sys.executable


def _chain(method, table, work_dir, launcher='local', **kw):
    opts = {k: kw.pop(k) for k in ('gpus', 'partition') if k in kw}
    out = io.StringIO()
    chain = Chain(
        get_table(method, table, REPO_ROOT),
        str(work_dir),
        Launcher(launcher, python=PY, **opts),
        REPO_ROOT,
        out=out,
        **kw)
    return chain, out


def _dry(chain, out):
    assert chain.dry_run() == 0
    text = out.getvalue()
    blocks = text.split('# [')[1:]
    return {b.split(']', 1)[0]: b.split('\n', 1)[1].strip() for b in blocks}


def test_tables_load_and_point_at_real_configs():
    seen = 0
    for method in ('mgc', 'mugs'):
        tables = load_tables(tables_file(method, REPO_ROOT))
        assert tables
        for t in tables.values():
            assert t.method == method and t.rows
            assert osp.isfile(osp.join(REPO_ROOT, t.pretrain)), t.pretrain
            for r in t.rows:
                seen += 1
                assert osp.isfile(osp.join(REPO_ROOT, r.config)), r.config
                assert r.metrics and r.source
                assert 'benchmarks' in r.config
    assert seen >= 15
    # the papers' numbers (spot checks against the READMEs / the papers)
    mgc = get_table('mgc', 'coco-800e', REPO_ROOT)
    rows = {r.name: r for r in mgc.rows}
    det = {m.key: m for m in rows['coco-mask-rcnn'].metrics}
    assert det['coco/bbox_mAP'].paper == 42.0
    assert det['coco/bbox_mAP'].scale == 100
    assert det['coco/segm_mAP'].paper == 38.0
    assert rows['coco-mask-rcnn'].source == 'MGC paper, Table 1'
    assert rows['cityscapes-mask-rcnn'].metrics[0].paper == 33.2
    assert rows['voc-semantic-fpn'].metrics[0].paper == 64.5
    assert rows['ade20k-semantic-fpn'].metrics[0].paper == 37.7
    assert rows['coco-vitpose'].metrics[0].paper == 71.6
    assert get_table('mgc', 'voc-800e',
                     REPO_ROOT).rows[0].metrics[0].paper == 54.5
    mugs = {
        r.name: r
        for r in get_table('mugs', 'vit-small-800e', REPO_ROOT).rows
    }
    assert mugs['knn'].metrics[0].paper == 75.6
    assert mugs['linear'].metrics[0].paper == 78.9
    assert mugs['fine-tune'].metrics[0].paper == 82.6
    assert mugs['ade20k-upernet'].metrics[0].paper == 47.4
    assert mugs['davis'].metrics[0].paper is None  # ViT-S: not reported
    davis_b = get_table('mugs', 'vit-base-400e', REPO_ROOT).rows[0]
    assert davis_b.metrics[0].paper == 63.1
    assert davis_b.checkpoint_key == 'model.init_cfg.checkpoint'


def test_table_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / 'tables.yml'
    bad.write_text('method: x\ntables:\n  t:\n    rows:\n'
                   '      - {name: a, task: train, config: c.py, gpu: 2}\n')
    with pytest.raises(TableError, match=r'tables.t.rows\[0\].*gpu'):
        load_tables(str(bad))
    bad.write_text('method: x\ntables:\n  t:\n    rows:\n'
                   '      - {name: a, task: fit, config: c.py}\n')
    with pytest.raises(TableError, match="task must be one of"):
        load_tables(str(bad))
    with pytest.raises(TableError, match='no table'):
        get_table('mgc', 'coco-900e', REPO_ROOT)
    with pytest.raises(TableError, match=r"no row\(s\) \['nope'\]"):
        get_table('mgc', 'coco-800e', REPO_ROOT).select(['nope'])


def test_options_formatting():
    assert format_option('a.b', 8) == 'a.b=8'
    assert format_option('a', [1, 2]) == 'a=[1,2]'
    assert format_option('a', (1, 2)) == 'a=(1,2)'
    assert format_option('m.arch', 'deit-small') == 'm.arch=deit-small'
    with pytest.raises(ValueError, match='key by key'):
        format_option('a', dict(b=1))
    assert split_row_options([['r1', 'a=1', 'b=2'], ['r2', 'c=3']]) == {
        'r1': ['a=1', 'b=2'],
        'r2': ['c=3']
    }
    with pytest.raises(ValueError, match='ROW'):
        split_row_options([['r1']])


def test_dry_run_local(tmp_path):
    chain, out = _chain('mgc', 'coco-800e', tmp_path / 'w')
    cmds = _dry(chain, out)
    names = list(cmds)
    rows = [r.name for r in chain.table.rows]
    assert names[:2] == ['pretrain', 'export']
    # every check before any downstream run
    assert names[2:2 + len(rows)] == [f'{r}/check' for r in rows]
    assert names[2 + len(rows):] == [
        f'{r}/{s}' for r in rows for s in ('train', 'test')
    ]
    wd = str(tmp_path / 'w')
    ckpt = f'{wd}/export/backbone.pth'
    assert cmds['pretrain'] == (
        f'{PY} tools/train.py '
        'configs/mgc/mgc_vit-small-p16_8xb32-coslr-800e_coco.py '
        f'--work-dir {wd}/pretrain')
    assert cmds['export'] == (
        f'{PY} tools/model_converters/extract_backbone.py '
        f"'<last checkpoint of {wd}/pretrain>' {ckpt} --source online")
    row = chain.table.rows[0]
    assert cmds['coco-mask-rcnn/check'] == (
        f'{PY} tools/misc/check_transfer.py {row.config} {ckpt} '
        f'--cfg-options model.backbone.init_cfg.checkpoint={ckpt}')
    assert cmds['coco-mask-rcnn/train'] == (
        f'{PY} tools/train.py {row.config} --work-dir '
        f'{wd}/coco-mask-rcnn/train --cfg-options '
        f'model.backbone.init_cfg.checkpoint={ckpt}')
    assert cmds['coco-mask-rcnn/test'].startswith(
        f'{PY} tools/test.py {row.config} '
        f"'<last checkpoint of {wd}/coco-mask-rcnn/train>' --work-dir "
        f'{wd}/coco-mask-rcnn/test --out '
        f'{wd}/coco-mask-rcnn/test/metrics.json --cfg-options')
    assert "'<best checkpoint of" in cmds['coco-vitpose/test']
    assert 'run)' in out.getvalue() and 'done' not in out.getvalue()
    assert not osp.exists(wd)  # a dry run writes nothing


def test_dry_run_dist_and_options(tmp_path):
    chain, out = _chain(
        'mgc',
        'coco-800e',
        tmp_path / 'w',
        launcher='dist',
        pretrain_options=['train_cfg.max_epochs=1'],
        cfg_options=['model.backbone.drop_path_rate=0.0'],
        row_options={'coco-vitpose': ['train_cfg.max_epochs=2']},
        train_args=['--amp'])
    cmds = _dry(chain, out)
    cfg = 'configs/mgc/mgc_vit-small-p16_8xb32-coslr-800e_coco.py'
    assert cmds['pretrain'].startswith(
        f'PYTHON={PY} bash tools/dist_train.sh {cfg} 8 --work-dir ')
    assert cmds['pretrain'].endswith(
        '--amp --cfg-options train_cfg.max_epochs=1')
    # the paper's GPU count of each row: 4 for Semantic FPN, 8 for Mask R-CNN
    assert ' 4 --work-dir ' in cmds['voc-semantic-fpn/train']
    assert ' 8 --work-dir ' in cmds['coco-mask-rcnn/train']
    assert cmds['coco-mask-rcnn/test'].startswith(
        f'PYTHON={PY} bash tools/dist_test.sh ')
    assert ' 8 --work-dir ' in cmds['coco-mask-rcnn/test']
    assert 'model.backbone.drop_path_rate=0.0' in \
        cmds['coco-mask-rcnn/train']
    assert 'train_cfg.max_epochs=2' in cmds['coco-vitpose/train']
    assert 'train_cfg.max_epochs=2' not in cmds['coco-mask-rcnn/train']
    # export and check run on this machine
    assert cmds['export'].startswith(f'{PY} tools/model_converters/')
    # --gpus overrides every step's count
    chain, out = _chain(
        'mgc', 'coco-800e', tmp_path / 'w', launcher='dist', gpus=2)
    cmds = _dry(chain, out)
    assert ' 2 --work-dir ' in cmds['voc-semantic-fpn/train']
    assert ' 2 --work-dir ' in cmds['pretrain']


def test_dry_run_slurm(tmp_path):
    with pytest.raises(ValueError, match='partition'):
        Launcher('slurm')
    chain, out = _chain(
        'mugs',
        'vit-small-800e',
        tmp_path / 'w',
        launcher='slurm',
        partition='gpu')
    cmds = _dry(chain, out)
    cfg = 'configs/mugs/mugs_vit-small-p16_16xb64-800e_in1k.py'
    assert cmds['pretrain'].startswith(
        f'GPUS=16 GPUS_PER_NODE=8 PYTHON={PY} bash tools/slurm_train.sh gpu '
        f'reproduce-pretrain {cfg} --work-dir ')
    assert cmds['export'].endswith('--source momentum')  # Mugs: teacher
    assert cmds['linear/test'].startswith(
        f'GPUS=8 GPUS_PER_NODE=8 PYTHON={PY} bash tools/slurm_test.sh gpu '
        'reproduce-linear-test ')
    # single-process evaluation tools: one srun task with one GPU
    assert cmds['knn/eval'].startswith(
        'srun -p gpu --job-name=reproduce-knn --gres=gpu:1 --ntasks=1 '
        f'--kill-on-bad-exit=1 {PY} tools/analysis/knn.py dataset ')
    assert 'tools/analysis/davis_propagation.py' in cmds['davis/eval']
    assert 'model.arch=deit-small' in cmds['davis/eval']
    assert 'model.init_cfg.checkpoint=' in cmds['davis/eval']
    assert '--output-dir' in cmds['davis/eval']
    assert 'logreg_classify.py' in cmds['logreg-1pct/eval']
    # DAVIS's bare-backbone config is checked through a generated wrapper,
    # which a dry run only names
    assert cmds['davis/check'].startswith(
        f'{PY} tools/misc/check_transfer.py {tmp_path}/w/davis/check/'
        'davis_backbone_check.py ')
    assert not osp.exists(tmp_path / 'w')


def test_checkpoint_formats(tmp_path):
    release = tmp_path / 'mgc_release.pth'
    release.write_bytes(b'x')
    chain, out = _chain(
        'mgc',
        'coco-800e',
        tmp_path / 'w',
        checkpoint=str(release),
        checkpoint_format='mgc')
    cmds = _dry(chain, out)
    assert 'pretrain' not in cmds
    assert cmds['export'].startswith(
        f'{PY} tools/model_converters/convert_official.py {release} ')
    assert cmds['export'].endswith('--format mgc --branch base')
    # the authors' ViT-S has 8 heads
    assert 'model.backbone.arch.num_heads=8' in cmds['coco-mask-rcnn/train']
    chain, out = _chain(
        'mgc',
        'coco-800e',
        tmp_path / 'w2',
        checkpoint=str(release),
        checkpoint_format='backbone')
    cmds = _dry(chain, out)
    assert 'export' not in cmds and 'pretrain' not in cmds
    assert f'model.backbone.init_cfg.checkpoint={release}' in \
        cmds['coco-mask-rcnn/train']
    assert 'num_heads' not in cmds['coco-mask-rcnn/train']
    with pytest.raises(FileNotFoundError, match='does not exist'):
        _chain(
            'mgc',
            'coco-800e',
            tmp_path / 'w',
            checkpoint=str(tmp_path / 'none.pth'))


def _fake_step(chain, step, status='done', **extra):
    d = chain.step_dir(step.name)
    os.makedirs(d, exist_ok=True)
    sig = chain.signature(step, step.make())
    rec = dict(
        step=step.name,
        status=status,
        signature=sig,
        finished='2026-01-02 03:04:05 UTC',
        git_commit='abc123',
        backbone=chain.backbone,
        backbone_sha256=sig.get('backbone_sha256'))
    rec.update(extra)
    with open(osp.join(d, 'reproduce_step.json'), 'w') as f:
        json.dump(rec, f)


def test_skip_changed_and_results(tmp_path):
    backbone = tmp_path / 'backbone.pth'
    backbone.write_bytes(b'weights')
    chain, out = _chain(
        'mgc',
        'coco-800e',
        tmp_path / 'w',
        checkpoint=str(backbone),
        checkpoint_format='backbone')
    steps = {s.name: s for s in chain.steps()}
    # the Mask R-CNN row finished: check, train (last_checkpoint), test
    tdir = chain.step_dir('coco-mask-rcnn/train')
    os.makedirs(tdir)
    with open(osp.join(tdir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(tdir, 'epoch_12.pth'))
    for name in ('check', 'train', 'test'):
        _fake_step(chain, steps[f'coco-mask-rcnn/{name}'])
    with open(chain.metrics_file(chain.table.rows[0]), 'w') as f:
        json.dump(
            {
                'coco/bbox_mAP': 0.401,
                'coco/segm_mAP': 0.38,
                'coco/bbox_mAP_50': 0.6
            }, f)
    # the ViTPose training failed
    _fake_step(chain, steps['coco-vitpose/train'], status='failed')
    res = write_results(chain)
    rows = {r['row']: r for r in res['rows']}
    det = rows['coco-mask-rcnn']
    assert det['status'] == 'done' and det['commit'] == 'abc123'
    import hashlib
    sha = hashlib.sha256(b'weights').hexdigest()
    assert det['checkpoint_sha256'] == sha == res['backbone_sha256']
    m = {x['key']: x for x in det['metrics']}
    assert m['coco/bbox_mAP']['ours'] == pytest.approx(40.1)
    assert m['coco/bbox_mAP']['paper'] == 42.0
    assert m['coco/bbox_mAP']['diff'] == pytest.approx(-1.9)
    assert m['coco/segm_mAP_75']['ours'] is None  # not in the metrics
    assert rows['coco-vitpose']['status'] == 'failed (train)'
    assert rows['voc-semantic-fpn']['status'] == 'pending'
    assert rows['voc-semantic-fpn']['metrics'][0]['paper'] == 64.5
    md = (tmp_path / 'w' / 'results.md').read_text()
    assert '| coco-mask-rcnn | AP bbox | 40.10 | 42.00 | -1.90 | done |' \
        in md
    assert f'({sha[:12]})' in md
    assert '| voc-semantic-fpn | mIoU | pending | 64.50 | - | pending |' \
        in md
    assert 'missing (coco/segm_mAP_75)' in md
    assert json.loads((tmp_path / 'w' / 'results.json').read_text()) == res

    # done steps are skipped; a step done with another checkpoint stops
    text = out.getvalue()
    chain.dry_run()
    text = out.getvalue()[len(text):]
    assert '# [coco-mask-rcnn/train] (done, skipped)' in text
    assert '# [cityscapes-mask-rcnn/train] (run)' in text
    backbone.write_bytes(b'other weights')
    chain._sha = {}
    with pytest.raises(StepFailed, match='different command or backbone'):
        chain.run()


def test_interrupted_training_resumes(tmp_path):
    chain, out = _chain(
        'mgc',
        'coco-800e',
        tmp_path / 'w',
        pretrain_options=['train_cfg.max_epochs=1'])
    d = chain.pretrain_dir
    os.makedirs(d)
    with open(osp.join(d, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(d, 'epoch_3.pth'))
    cmds = _dry(chain, out)
    assert '# [pretrain] (resume)' in out.getvalue()
    assert cmds['pretrain'].endswith('train_cfg.max_epochs=1 --resume')
    assert cmds['export'].startswith(
        f'{PY} tools/model_converters/extract_backbone.py {d}/epoch_3.pth ')


def test_cli_dry_run_list_and_errors(tmp_path, capsys):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    res = subprocess.run([
        PY, 'tools/reproduce.py', 'mugs', 'vit-small-800e', '--rows', 'knn',
        'linear', '--launcher', 'dist', '--gpus', '2', '--work-dir',
        str(tmp_path / 'w'), '--dry-run'
    ],
                         cwd=REPO_ROOT,
                         env=env,
                         capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    assert 'bash tools/dist_train.sh ' in res.stdout
    assert '# [knn/check]' in res.stdout and 'upernet' not in res.stdout
    # the same main() in this process: errors and --list
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'reproduce_cli', osp.join(REPO_ROOT, 'tools/reproduce.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    capsys.readouterr()
    assert cli.main(['mgc', 'coco-900e']) == 2
    assert "no table 'coco-900e'" in capsys.readouterr().err
    assert cli.main(['mgc', 'coco-800e', '--launcher', 'slurm']) == 2
    assert 'partition' in capsys.readouterr().err
    assert cli.main(['mgc', '--list']) == 0
    text = capsys.readouterr().out
    assert 'coco-800e' in text and 'voc-semantic-fpn' in text
    assert cli.main(['mgc', '--configs', 'nope.py']) == 2
    assert 'nope.py does not exist' in capsys.readouterr().err


def test_in_process_tool_output_goes_to_the_log(tmp_path):
    """Checks run a tool's main() in the reproduce process: its output
    (Python and file-descriptor level) lands in the step's log, the
    working directory is the repository root, the return value is the exit
    code; main(argv) and main() reading sys.argv both work."""
    from mmmgc.reproduce import Command
    with_argv = tmp_path / 'tool_argv.py'
    with_argv.write_text('import os, sys\n'
                         'def main(argv=None):\n'
                         '    print("cwd", os.getcwd(), "args", argv)\n'
                         '    os.write(2, b"raw fd output\\n")\n'
                         '    return 1 if argv == ["fail"] else 0\n')
    no_argv = tmp_path / 'tool_sysargv.py'
    no_argv.write_text('import sys\n'
                       'def main():\n'
                       '    if sys.argv[1] == "boom":\n'
                       '        raise KeyError("bad key")\n'
                       '    print("sys.argv", sys.argv[1:])\n')
    chain, _ = _chain('mgc', 'coco-800e', tmp_path / 'w')

    def run(script, *args):
        log = tmp_path / f'{script.stem}-{"-".join(args)}.log'
        with open(log, 'a') as f:
            code = chain._run_in_process(
                Command([PY, str(script), *args], core=[str(script), *args]),
                f)
        return code, log.read_text()

    code, text = run(with_argv, 'a', 'b')
    assert code == 0
    assert f"cwd {REPO_ROOT} args ['a', 'b']" in text
    assert 'raw fd output' in text
    assert run(with_argv, 'fail')[0] == 1
    code, text = run(no_argv, 'x', 'y')
    assert code == 0 and "sys.argv ['x', 'y']" in text
    code, text = run(no_argv, 'boom')
    assert code == 1 and "KeyError: 'bad key'" in text
    assert os.getcwd() != '' and sys.argv[0] != str(no_argv)
