"""Every config file in configs/ parses (inheritance from the installed
libraries included) and names a model or an evaluation. Building each one
with a tiny backbone is done by the tests of the area that owns it
(tests/test_configs, tests/test_transfer, tests/test_tools); this test
catches a config that nobody loads."""
import os.path as osp

import pytest
from mmengine.config import Config

from tests._utils import REPO_ROOT
from tests._utils.resolved_configs import config_paths

# the list that test_resolved_configs.py compares with the stored one, so
# a glob that finds nothing fails there
CONFIGS = [osp.join(REPO_ROOT, p) for p in config_paths()]


def _uses_mmmgc(cfg) -> bool:
    from mmpretrain.registry import MODELS

    import mmmgc  # noqa: F401
    text = cfg.pretty_text
    return any(
        f"'{name}'" in text and MODELS.get(name).__module__.startswith('mmmgc')
        for name in list(MODELS.module_dict))


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, REPO_ROOT) for p in CONFIGS])
def test_config_parses(path):
    cfg = Config.fromfile(path)
    assert 'model' in cfg or 'evaluation' in cfg or 'extract' in cfg or \
        'propagation' in cfg, f'{path} defines no model'
    if 'train_cfg' in cfg or 'train_dataloader' in cfg:
        # a Runner config: registry scope and our modules must be explicit
        assert cfg.get('default_scope'), f'{path} has no default_scope'
        imports = (cfg.get('custom_imports') or {}).get('imports', [])
        assert 'mmmgc' in imports or not _uses_mmmgc(cfg), \
            f'{path} uses mmmgc modules without custom_imports'
