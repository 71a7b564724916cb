"""Collect the final metrics of every row of a chain and write
``results.json`` and ``results.md`` next to the step directories."""
import json
import os.path as osp
from typing import List, Optional

from .chain import Chain, _now, read_record
from .tables import Row

ROW_STEPS = {
    'train': ('check', 'train', 'test'),
    'knn': ('check', 'eval'),
    'logreg': ('check', 'eval'),
    'davis': ('check', 'eval')
}


def _row_status(chain: Chain, row: Row) -> (str, Optional[dict]):
    """(status, record of the row's final step)."""
    records = [(s, read_record(chain.step_dir(f'{row.name}/{s}')))
               for s in ROW_STEPS[row.task]]
    final = records[-1][1]
    if final and final.get('status') == 'done' and osp.isfile(
            chain.metrics_file(row)):
        return 'done', final
    for step, rec in records:
        if rec and rec.get('status') == 'failed':
            return f'failed ({step})', final
    for step, rec in records:
        if rec and rec.get('status') in ('started', 'interrupted'):
            return f'interrupted ({step})', final
    return 'pending', final


def _metric_values(metrics: dict, row: Row) -> List[dict]:
    out = []
    if not row.metrics:  # ad-hoc rows: every scalar, no paper column
        for key, value in metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out.append(
                    dict(key=key, name=key, ours=value, paper=None, diff=None))
        return out
    for m in row.metrics:
        value = metrics.get(m.key)
        ours = None if value is None else round(float(value) * m.scale, 4)
        diff = None if ours is None or m.paper is None else round(
            ours - m.paper, 4)
        out.append(
            dict(
                key=m.key,
                name=m.name,
                ours=ours,
                paper=m.paper,
                diff=diff,
                missing=value is None))
    return out


def collect(chain: Chain) -> dict:
    """The results of every row (pending rows included)."""
    rows = []
    for row in chain.table.rows:
        status, final = _row_status(chain, row)
        entry = dict(
            row=row.name,
            task=row.task,
            source=row.source,
            config=row.config,
            cfg_options=chain.row_cfg_options(row),
            note=row.note,
            status=status,
            metrics_file=chain.metrics_file(row))
        if status == 'done':
            with open(chain.metrics_file(row)) as f:
                metrics = json.load(f)
            entry['metrics'] = _metric_values(metrics, row)
            entry.update(
                date=final.get('finished'),
                commit=final.get('git_commit'),
                checkpoint=final.get('backbone'),
                checkpoint_sha256=final.get('backbone_sha256'))
        else:
            entry['metrics'] = [
                dict(
                    key=m.key,
                    name=m.name,
                    ours=None,
                    paper=m.paper,
                    diff=None) for m in row.metrics
            ]
        rows.append(entry)
    return dict(
        method=chain.table.method,
        table=chain.table.name,
        description=chain.table.description,
        tables_file=chain.table.path,
        work_dir=chain.work_dir,
        backbone=chain.backbone,
        backbone_sha256=chain.backbone_sha256(),
        generated=_now(),
        git_commit=chain.commit(),
        rows=rows)


def _num(v) -> str:
    if v is None:
        return '-'
    return f'{v:.2f}'


def to_markdown(results: dict) -> str:
    """One line per (row, metric): ours, the paper's, the difference."""
    lines = [
        f'# {results["method"]}: table {results["table"]}', '',
        results.get('description') or '', '',
        f'Work dir `{results["work_dir"]}`; written {results["generated"]} '
        f'at commit `{results["git_commit"]}`. "paper" columns are the '
        'papers\' numbers (source column); "ours" are the runs of this work '
        'dir.', '',
        '| row | metric | ours | paper | diff | status | source | config | '
        'checkpoint (sha256) | date | commit |',
        '|---|---|---|---|---|---|---|---|---|---|---|'
    ]
    for r in results['rows']:
        sha = r.get('checkpoint_sha256')
        ckpt = (f'`{osp.basename(r["checkpoint"])}` ({sha[:12]})'
                if r.get('checkpoint') and sha else '-')
        metrics = r['metrics'] or [
            dict(name='-', ours=None, paper=None, diff=None)
        ]
        for m in metrics:
            ours = _num(m['ours']) if r['status'] == 'done' else r['status']
            if r['status'] == 'done' and m.get('missing'):
                ours = f'missing ({m["key"]})'
            diff = '-' if m['diff'] is None else f'{m["diff"]:+.2f}'
            lines.append(
                f'| {r["row"]} | {m["name"]} | {ours} | {_num(m["paper"])} '
                f'| {diff} | {r["status"]} | {r["source"] or "-"} | '
                f'`{r["config"]}` | {ckpt} | {r.get("date") or "-"} | '
                f'{(r.get("commit") or "-")[:12]} |')
    notes = [
        f'- {r["row"]}: {r["note"]}' for r in results['rows'] if r.get('note')
    ]
    if notes:
        lines += ['', 'Notes:'] + notes
    return '\n'.join(lines) + '\n'


def write_results(chain: Chain) -> dict:
    """Write ``results.json`` and ``results.md`` in the work dir."""
    import os
    results = collect(chain)
    os.makedirs(chain.work_dir, exist_ok=True)
    with open(osp.join(chain.work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    with open(osp.join(chain.work_dir, 'results.md'), 'w') as f:
        f.write(to_markdown(results))
    return results


__all__ = ['collect', 'to_markdown', 'write_results']
