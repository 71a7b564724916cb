"""Reproduce a paper's table in one command: pretrain -> export -> check ->
every downstream run -> one results table (``tools/reproduce.py``)."""
from .chain import (FORMATS, Chain, Step, StepFailed, format_option,
                    last_checkpoint, read_record, sha256, split_row_options)
from .launch import LAUNCHERS, Command, Launcher
from .results import collect, to_markdown, write_results
from .tables import (TASKS, Metric, Row, Table, TableError, get_table,
                     load_tables, table_from_configs, tables_file)

__all__ = [
    'Chain', 'Step', 'StepFailed', 'FORMATS', 'format_option',
    'last_checkpoint', 'read_record', 'sha256', 'split_row_options', 'Command',
    'Launcher', 'LAUNCHERS', 'collect', 'to_markdown', 'write_results',
    'Metric', 'Row', 'Table', 'TableError', 'TASKS', 'get_table',
    'load_tables', 'table_from_configs', 'tables_file'
]
