import os
import os.path as osp
import shutil
import sys
import warnings
from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def get_version():
    scope = {}
    with open(osp.join('mmmgc', 'version.py')) as f:
        exec(compile(f.read(), 'mmmgc/version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname):
    """Read a requirements file, dropping comments and blank lines."""
    if not osp.exists(fname):
        return []
    out = []
    with open(fname) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line and not line.startswith('-'):
                out.append(line)
    return out


def add_mim_extension():
    """Ship configs/, tools/ and model-index.yml inside the package under
    mmmgc/.mim (as mmpretrain does), so that `mim train / test / run /
    search mmmgc` find them.

    Editable installs and a checkout's egg_info link them; builds copy them.
    mim looks in <location of the mmmgc metadata>/mmmgc/.mim: that holds
    for a wheel install and for the legacy develop layout that
    tools/install.sh sets up, not for a PEP 660 `pip install -e .`.
    """
    if 'develop' in sys.argv or any('editable' in a for a in sys.argv):
        mode = 'symlink'
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv:
        mode = 'copy'
    else:
        mode = 'symlink' if os.name != 'nt' else 'copy'
    filenames = ['tools', 'configs', 'model-index.yml']
    repo_path = osp.dirname(__file__)
    mim_path = osp.join(repo_path, 'mmmgc', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for filename in filenames:
        src = osp.join(repo_path, filename)
        tar = osp.join(mim_path, filename)
        if not osp.exists(src):
            continue
        if osp.isfile(tar) or osp.islink(tar):
            os.remove(tar)
        elif osp.isdir(tar):
            shutil.rmtree(tar)
        if mode == 'symlink':
            try:
                os.symlink(osp.relpath(src, osp.dirname(tar)), tar)
                continue
            except OSError:
                warnings.warn(f'Failed to symlink {src}; copying instead.')
        if osp.isfile(src):
            shutil.copyfile(src, tar)
        else:
            shutil.copytree(src, tar)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmmgc',
        version=get_version(),
        description='Multi-Grained Contrast (MGC) and Mugs self-supervised '
        'pretraining for OpenMMLab',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='self-supervised learning, vision transformer, openmmlab',
        packages=find_packages(exclude=('configs', 'tools', 'tests')),
        include_package_data=True,
        package_data={'mmmgc': ['.mim/**/*']},
        python_requires='>=3.8',
        license='Apache License 2.0',
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'mim': parse_requirements('requirements/mminstall.txt'),
            'optional': parse_requirements('requirements/optional.txt'),
            'tests': parse_requirements('requirements/tests.txt'),
        },
        zip_safe=False)
