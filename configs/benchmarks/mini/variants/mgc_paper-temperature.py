# MGC investigation (docs/benchmarks.md): the paper-scale temperature 0.1
# with lr 1e-3 (the MoCo v3 baseline's lr) instead of tau 0.2 / lr 3e-3.
_base_ = ['../mgc_vit-tiny-p8_mini.py']

model = dict(head=dict(temperature=0.1))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
