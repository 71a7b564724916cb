"""Rules the whole tree keeps: tools and tests import the installed
package (no ``sys.path`` edits), and comments and docstrings state facts
instead of citing a tracker's numbers or files outside the repository."""
import re
import subprocess

import pytest

from tests._utils import REPO_ROOT

RULES = {
    'a sys.path edit':
    re.compile(r'sys\.path\.(insert|append)\('),
    'an issue citation':
    re.compile(r'\b[Ii]ssues? \d+\b'),
    'a reference to notes outside the repository':
    re.compile(r'shared/notes|(mgc|mugs)-reference\.md'),
}


def tracked_python_files():
    out = subprocess.run(['git', 'ls-files', '*.py'],
                         cwd=REPO_ROOT,
                         capture_output=True,
                         text=True)
    if out.returncode != 0:
        pytest.skip('not a git checkout')
    return out.stdout.split()


@pytest.mark.parametrize('rule', sorted(RULES))
def test_no_file_breaks_the_rule(rule):
    this = 'tests/test_install/test_repository_rules.py'
    found = []
    for path in tracked_python_files():
        if path == this:
            continue
        with open(f'{REPO_ROOT}/{path}', encoding='utf-8') as f:
            for i, line in enumerate(f, 1):
                if RULES[rule].search(line):
                    found.append(f'{path}:{i}: {line.strip()}')
    assert not found, f'{len(found)} lines with {rule}:\n' + '\n'.join(found)
