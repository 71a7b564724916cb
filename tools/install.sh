#!/usr/bin/env bash
# Install (or reuse) the mmmgc environment: torch (CPU), the OpenMMLab stack
# with mmcv's compiled CPU ops, mmmgc itself (editable, in a layout that mim
# understands), openmim, test tools and the embedded default data set
# (Fashion-MNIST from Debian's archive).
#
#   bash tools/install.sh            # idempotent; a no-op when up to date
#   bash tools/install.sh --develop  # only (re)link this checkout as mmmgc
#                                    # into $MMMGC_VENV (see install_develop)
#
# Environment:
#   MMMGC_VENV   where the virtualenv lives      (default: <repo>/.venv)
#   MMMGC_CACHE  built-wheel cache outside repo  (default: ~/.cache/mmmgc)
#   MMMGC_DATA   Fashion-MNIST IDX files folder  (default: $MMMGC_CACHE/data)
#
# Every step checks what is already there and only installs what is missing,
# so the same script serves a brand-new machine and a cached one. The one
# edit to a third-party file (torchvision, see patch_torchvision) is made here
# and nowhere else.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMMGC_VENV:-$REPO/.venv}"
CACHE="${MMMGC_CACHE:-$HOME/.cache/mmmgc}"
DATA="${MMMGC_DATA:-$CACHE/data}"
WHEELS="$CACHE/wheels"
CONSTRAINTS="$REPO/requirements/constraints.txt"
STAMP="$VENV/.mmmgc-install-stamp"
mkdir -p "$WHEELS" "$DATA"

log() { printf '[install %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# Hash of everything that decides the environment's contents.
want_stamp() {
    cat "$REPO"/requirements/*.txt "$REPO/tools/install.sh" "$REPO/setup.py" |
        sha256sum | cut -d' ' -f1
}

PY="$VENV/bin/python"
# pip, with the noise of this machine's empty local index folders filtered
# out (pip's exit status is kept).
quiet_pip() {
    "$PY" -m pip --disable-pip-version-check -q "$@" 2>&1 |
        { grep -v 'is ignored: it is neither a file nor a directory' || true; }
    return "${PIPESTATUS[0]}"
}
PIP=(quiet_pip)
PIPC=(quiet_pip install -c "$CONSTRAINTS")

ensure_data() {
    # Fashion-MNIST (MIT licence) from Debian's dataset-fashion-mnist.
    local f missing=0
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte \
             t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        [ -s "$DATA/$f.gz" ] || missing=1
    done
    [ "$missing" = 0 ] && return 0
    local src
    src="$(dpkg -L dataset-fashion-mnist 2>/dev/null |
           grep 'train-images-idx3-ubyte.gz$' | head -1 || true)"
    if [ -z "$src" ]; then
        log "installing Debian package dataset-fashion-mnist"
        if [ "$(id -u)" = 0 ]; then APT=(apt-get); else APT=(sudo apt-get); fi
        "${APT[@]}" update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq \
            dataset-fashion-mnist >/dev/null
        src="$(dpkg -L dataset-fashion-mnist |
               grep 'train-images-idx3-ubyte.gz$' | head -1)"
    fi
    cp "$(dirname "$src")"/*-ubyte.gz "$DATA"/
    log "Fashion-MNIST in $DATA"
}

build_or_reuse_mmcv() {
    # mmcv 2.1.0 has no cp311 wheel with ops on PyPI: build it once from the
    # source archive and keep the wheel in $WHEELS. A cached wheel is only
    # trusted when `import mmcv.ops` works after installing it.
    if "$PY" -c 'import mmcv.ops' 2>/dev/null; then return 0; fi
    local whl
    whl="$(ls "$WHEELS"/mmcv-2.1.0-*.whl 2>/dev/null | head -1 || true)"
    if [ -n "$whl" ]; then
        log "installing cached mmcv wheel $(basename "$whl")"
        "${PIP[@]}" install --no-deps --force-reinstall "$whl"
        if "$PY" -c 'import mmcv.ops' 2>/dev/null; then return 0; fi
        log "cached mmcv wheel does not import here; rebuilding"
        rm -f "$whl"
    fi
    log "building mmcv 2.1.0 with CPU ops (about 4-8 min on 2 cores)"
    local tmp
    tmp="$(mktemp -d)"
    # -g0 halves the compile time; CFLAGS replaces Python's flags, hence -O3.
    (
        export CFLAGS="-O3 -g0 -DNDEBUG -fwrapv" MMCV_WITH_OPS=1 FORCE_CUDA=0
        export MAX_JOBS="$(nproc)"
        "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$tmp" \
            "mmcv==2.1.0"
    )
    mv "$tmp"/mmcv-2.1.0-*.whl "$WHEELS"/
    rmdir "$tmp" 2>/dev/null || true
    whl="$(ls "$WHEELS"/mmcv-2.1.0-*.whl | head -1)"
    "${PIP[@]}" install --no-deps --force-reinstall "$whl"
    "$PY" -c 'import mmcv.ops'
}

patch_torchvision() {
    # THE ONE THIRD-PARTY EDIT. PyPI's torchvision 0.28.0 is built against the
    # CUDA torch 2.13.0, so its C ops cannot load beside the CPU wheel and
    # `import torchvision` dies in _meta_registrations.py on two unguarded
    # register_fake("torchvision::nms"/"qnms") decorators. We guard them with
    # torchvision.extension._has_ops(). Only torchvision's own C ops are lost
    # (mmdet uses mmcv's nms/RoIAlign); mmpretrain needs torchvision's Python
    # transforms only. tests/test_install/test_stack.py checks the import.
    "$PY" - <<'EOF'
import importlib.util, pathlib, sys
spec = importlib.util.find_spec('torchvision')
p = pathlib.Path(spec.origin).parent / '_meta_registrations.py'
s = p.read_text()
if '_mmmgc_register_fake' in s:
    sys.exit(0)
old = ['@torch.library.register_fake("torchvision::nms")',
       '@torch.library.register_fake("torchvision::qnms")']
for o in old:
    if s.count(o) != 1:
        sys.exit(f'torchvision patch: {o!r} not found once in {p}')
    s = s.replace(o, o.replace('torch.library.register_fake',
                               '_mmmgc_register_fake'))
guard = (
    '\n\ndef _mmmgc_register_fake(name):  # added by mmmgc tools/install.sh\n'
    '    import torchvision.extension\n'
    '    if torchvision.extension._has_ops():\n'
    '        return torch.library.register_fake(name)\n'
    '    return lambda fn: fn\n\n')
# define the guard right after `import torch`, before any decorator use
j = s.index('\nimport torch\n') + len('\nimport torch\n')
s = s[:j] + guard + s[j:]
p.write_text(s)
print(f'patched {p}')
EOF
    "$PY" -c 'import torchvision' >/dev/null
}

install_develop() {
    # mmmgc itself, editable, in the legacy `setup.py develop` layout that
    # OpenMMLab's mim understands: metadata in $REPO/mmmgc.egg-info, the repo
    # on sys.path through easy-install.pth, and mmmgc.egg-link for pip (pip
    # list shows it as editable; pip uninstall removes it). mim looks for
    # configs, tools and model-index.yml in <metadata location>/mmmgc/.mim;
    # a PEP 660 `pip install -e .` keeps its metadata in site-packages, where
    # there is no mmmgc/ folder, and setuptools >= 80 turns `setup.py
    # develop` into exactly that. setup.py links mmmgc/.mim to the repo.
    "${PIP[@]}" uninstall -y mmmgc 2>&1 | { grep -v 'not installed' || true; }
    rm -rf "$REPO/mmmgc.egg-info"
    (cd "$REPO" && "$PY" -W ignore setup.py -q egg_info >/dev/null)
    "$PY" - "$REPO" <<'EOF'
import os, sys, sysconfig
repo = sys.argv[1]
site = sysconfig.get_paths()['purelib']
with open(os.path.join(site, 'mmmgc.egg-link'), 'w') as f:
    f.write(repo + '\n.')
pth = os.path.join(site, 'easy-install.pth')
lines = open(pth).read().splitlines() if os.path.exists(pth) else []
if repo not in lines:
    with open(pth, 'w') as f:
        f.write('\n'.join(lines + [repo]) + '\n')
EOF
    check_develop
}

check_develop() {
    # What mim does to find the package (mim.utils.get_installed_path): the
    # mmmgc metadata must lie in this repo, beside mmmgc/.mim.
    "$PY" -W ignore - "$REPO" <<'EOF'
import os.path as osp, sys, pkg_resources
loc = pkg_resources.get_distribution('mmmgc').location
mim = osp.join(loc, 'mmmgc', '.mim')
for name in ('configs', 'tools', 'model-index.yml'):
    if not osp.exists(osp.join(mim, name)):
        sys.exit(f'develop install: {osp.join(mim, name)} is missing')
if osp.realpath(loc) != osp.realpath(sys.argv[1]):
    sys.exit(f'develop install: mmmgc metadata found in {loc}, '
             f'not in {sys.argv[1]}')
EOF
}

main() {
    local t0=$SECONDS
    if [ "${1:-}" = "--develop" ]; then
        install_develop
        log "mmmgc linked into $VENV in $((SECONDS - t0)) s"
        return 0
    fi
    ensure_data
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(want_stamp)" ] &&
       "$PY" -c 'import mmcv.ops, mmmgc' 2>/dev/null &&
       check_develop 2>/dev/null; then
        log "environment up to date: $VENV"
        return 0
    fi
    if [ ! -x "$PY" ]; then
        log "creating virtualenv $VENV"
        python3 -m venv "$VENV"
    fi
    log "torch (CPU wheel) and the base stack"
    # torch first and alone, so that its exact CPU build is what later
    # requirements resolve against (a plain `torch` pulls a CUDA build).
    "${PIPC[@]}" "torch==2.13.0+cpu"
    "${PIPC[@]}" -r "$REPO/requirements/runtime.txt"
    build_or_reuse_mmcv
    patch_torchvision
    log "OpenMMLab libraries"
    "${PIPC[@]}" mmpretrain==1.2.0 mmdet==3.3.0 mmsegmentation==1.2.2 \
        ftfy regex json_tricks munkres xtcocotools pycocotools
    "${PIPC[@]}" --no-deps mmpose==1.3.2
    "${PIPC[@]}" -r "$REPO/requirements/optional.txt" \
        -r "$REPO/requirements/tests.txt"
    install_develop
    "$PY" -c 'import mmcv.ops, torchvision, mmpretrain, mmdet, mmseg, mmpose, mmmgc'
    want_stamp >"$STAMP"
    log "done in $((SECONDS - t0)) s: $VENV"
}

main "$@"
