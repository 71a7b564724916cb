"""The papers' tables as data: rows, downstream configs, metric keys and
the papers' numbers with their source.

A tables file (``configs/<method>/benchmarks/tables.yml``) reads::

    method: mgc
    export_source: online          # extract_backbone.py --source
    official:                      # convert_official.py for releases
      format: mgc
      branch: base
      cfg_options: {model.backbone.arch.num_heads: 8}
    tables:
      coco-800e:
        description: ViT-S/16 pretrained on COCO for 800 epochs
        pretrain: configs/mgc/mgc_vit-small-p16_8xb32-coslr-800e_coco.py
        pretrain_gpus: 8
        rows:
          - name: coco-mask-rcnn
            task: train            # train (+ test) | knn | logreg | davis
            config: configs/mgc/benchmarks/mmdetection/....py
            gpus: 8
            test_checkpoint: last  # last | best (of the training run)
            source: MGC paper, Table 1
            metrics:
              - {key: coco/bbox_mAP, name: AP bbox, scale: 100, paper: 42.0}

``key`` is the metric's name in the JSON that ``tools/test.py --out`` (or
the evaluation tool's ``--out``) writes; ``scale`` turns it into the
paper's unit (mmdet and mmpose report AP in [0, 1]); ``paper`` is the
paper's number (``null`` when the paper has none for this row).
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

TASKS = ('train', 'knn', 'logreg', 'davis')
CHECKPOINT_KEYS = {
    'train': 'model.backbone.init_cfg.checkpoint',
    'knn': 'model.backbone.init_cfg.checkpoint',
    'logreg': 'model.backbone.init_cfg.checkpoint',
    'davis': 'model.init_cfg.checkpoint',
}


class TableError(ValueError):
    """A tables file or a table selection is invalid (file and key named)."""


@dataclass
class Metric:
    """One reported number of a row.

    Args:
        key (str): Key in the metrics JSON of the run.
        name (str): Column label. Defaults to ``key``.
        scale (float): Factor from the run's unit to the paper's.
            Defaults to 1.
        paper (float, optional): The paper's number. Defaults to None.
    """
    key: str
    name: str = ''
    scale: float = 1.0
    paper: Optional[float] = None

    def __post_init__(self):
        self.name = self.name or self.key


@dataclass
class Row:
    """One downstream run of a table.

    Args:
        name (str): Row name; also the prefix of its step directories.
        task (str): ``train`` (tools/train.py then tools/test.py), ``knn``
            (tools/analysis/knn.py dataset), ``logreg``
            (tools/analysis/logreg_classify.py) or ``davis``
            (tools/analysis/davis_propagation.py).
        config (str): Downstream config, relative to the repository root
            or absolute.
        metrics (list[Metric]): The numbers to report. Empty: every
            number of the metrics JSON, without a paper column.
        source (str): Where the paper's numbers come from. Defaults to ''.
        gpus (int): GPUs of the paper's setting (dist / slurm launchers).
            Defaults to 8.
        test_checkpoint (str): ``last`` or ``best`` checkpoint of the
            training run is tested. Defaults to 'last'.
        cfg_options (dict): Extra ``--cfg-options`` of every step of this
            row. Defaults to {}.
        checkpoint_key (str, optional): Config key that takes the backbone
            checkpoint. Defaults to the task's usual key.
        note (str): Shown in the results table. Defaults to ''.
    """
    name: str
    task: str
    config: str
    metrics: List[Metric] = field(default_factory=list)
    source: str = ''
    gpus: int = 8
    test_checkpoint: str = 'last'
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    checkpoint_key: Optional[str] = None
    note: str = ''

    def __post_init__(self):
        if self.task not in TASKS:
            raise TableError(f'row {self.name!r}: task must be one of '
                             f'{TASKS}, got {self.task!r}')
        if self.test_checkpoint not in ('last', 'best'):
            raise TableError(f'row {self.name!r}: test_checkpoint must be '
                             f"'last' or 'best', got {self.test_checkpoint!r}")
        if self.checkpoint_key is None:
            self.checkpoint_key = CHECKPOINT_KEYS[self.task]


@dataclass
class Table:
    """Rows that share one pretrained backbone.

    Args:
        method (str): ``mgc``, ``mugs``, ...
        name (str): Table name inside the method's tables file.
        rows (list[Row]): Downstream runs.
        description (str): One line. Defaults to ''.
        pretrain (str, optional): Pretraining config of the table.
        pretrain_gpus (int): GPUs of the pretraining. Defaults to 8.
        export_source (str): ``online`` or ``momentum`` backbone of a
            training checkpoint. Defaults to 'online'.
        official (dict): ``format``, ``branch`` and ``cfg_options`` for the
            authors' released checkpoints. Defaults to {}.
        path (str): The tables file. Defaults to ''.
    """
    method: str
    name: str
    rows: List[Row]
    description: str = ''
    pretrain: Optional[str] = None
    pretrain_gpus: int = 8
    export_source: str = 'online'
    official: Dict[str, Any] = field(default_factory=dict)
    path: str = ''

    def select(self, names: Optional[List[str]]) -> 'Table':
        """The same table with only the rows ``names`` (in their order)."""
        if not names:
            return self
        known = {r.name: r for r in self.rows}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise TableError(f'{self.path}: table {self.name!r} has no '
                             f'row(s) {unknown}; rows: {sorted(known)}')
        return Table(**{**self.__dict__, 'rows': [known[n] for n in names]})


def tables_file(method: str, repo_root: str) -> str:
    """``configs/<method>/benchmarks/tables.yml`` of the repository."""
    return osp.join(repo_root, 'configs', method, 'benchmarks', 'tables.yml')


def _read_yaml(path: str) -> dict:
    import yaml
    if not osp.isfile(path):
        raise TableError(f'tables file {path} does not exist')
    with open(path) as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict) or not isinstance(data.get('tables'), dict):
        raise TableError(f'{path}: expected a mapping with a `tables` '
                         'mapping')
    return data


def _build(cls, values: dict, where: str, **extra):
    if not isinstance(values, dict):
        raise TableError(f'{where}: expected a mapping, got {values!r}')
    allowed = set(cls.__dataclass_fields__)
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise TableError(f'{where}: unknown key(s) {unknown}; allowed: '
                         f'{sorted(allowed - set(extra))}')
    try:
        return cls(**values, **extra)
    except TypeError as err:
        raise TableError(f'{where}: {err}') from None


def load_tables(path: str) -> Dict[str, Table]:
    """Every table of a tables file, validated.

    Raises:
        TableError: With the file and the offending key named.
    """
    data = _read_yaml(path)
    method = data.get('method')
    if not method:
        raise TableError(f'{path}: no `method`')
    top = {k: data[k] for k in ('export_source', 'official') if k in data}
    known_top = {'method', 'tables', 'export_source', 'official'}
    if set(data) - known_top:
        raise TableError(f'{path}: unknown key(s) '
                         f'{sorted(set(data) - known_top)}')
    tables = {}
    for name, tdata in data['tables'].items():
        where = f'{path}: tables.{name}'
        if not isinstance(tdata, dict) or not isinstance(
                tdata.get('rows'), list) or not tdata['rows']:
            raise TableError(f'{where}: expected a mapping with a non-empty '
                             '`rows` list')
        rows, seen = [], set()
        for i, rdata in enumerate(tdata['rows']):
            rwhere = f'{where}.rows[{i}]'
            if not isinstance(rdata, dict):
                raise TableError(f'{rwhere}: expected a mapping')
            metrics = [
                _build(Metric, m, f'{rwhere}.metrics[{j}]')
                for j, m in enumerate(rdata.get('metrics') or [])
            ]
            row = _build(Row, {**rdata, 'metrics': metrics}, rwhere)
            if row.name in seen:
                raise TableError(f'{rwhere}: duplicate row name '
                                 f'{row.name!r}')
            seen.add(row.name)
            rows.append(row)
        tables[name] = _build(
            Table, {
                **top,
                **tdata, 'rows': rows
            },
            where,
            method=method,
            name=name,
            path=path)
    return tables


def get_table(method: str,
              table: str,
              repo_root: str,
              path: Optional[str] = None) -> Table:
    """One table of ``method`` (from ``path`` or the method's file)."""
    path = path or tables_file(method, repo_root)
    tables = load_tables(path)
    if table not in tables:
        raise TableError(f'{path}: no table {table!r}; tables: '
                         f'{sorted(tables)}')
    found = tables[table]
    if found.method != method:
        raise TableError(f'{path}: table {table!r} is of method '
                         f'{found.method!r}, not {method!r}')
    return found


def task_of_config(config: str) -> str:
    """The task of a downstream config: ``davis`` (``propagation``),
    ``knn`` (``knn``), ``logreg`` (``logreg``), otherwise ``train``."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    for key, task in (('propagation', 'davis'), ('knn', 'knn'), ('logreg',
                                                                 'logreg')):
        if key in cfg:
            return task
    return 'train'


def table_from_configs(method: str,
                       configs: List[str],
                       export_source: str = 'online',
                       pretrain: Optional[str] = None) -> Table:
    """An ad-hoc table: one row per config (named after its file), every
    metric of the run reported, no paper numbers."""
    rows, seen = [], set()
    for config in configs:
        if not osp.isfile(config):
            raise TableError(f'downstream config {config} does not exist')
        name = osp.splitext(osp.basename(config))[0]
        if name in seen:
            raise TableError(f'two downstream configs are named {name}')
        seen.add(name)
        rows.append(
            Row(name=name, task=task_of_config(config), config=config, gpus=8))
    return Table(
        method=method,
        name='configs',
        rows=rows,
        description='downstream configs given on the command line',
        pretrain=pretrain,
        export_source=export_source)


__all__ = [
    'Metric', 'Row', 'Table', 'TableError', 'TASKS', 'load_tables',
    'get_table', 'tables_file', 'table_from_configs', 'task_of_config'
]
