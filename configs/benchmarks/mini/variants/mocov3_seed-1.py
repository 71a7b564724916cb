# Seed check (docs/benchmarks.md): the mocov3 mini config with training seed 1
# (same scenes; other crops, initialisation and sampling).
_base_ = ['../mocov3_vit-tiny-p8_mini.py']

randomness = dict(seed=1, diff_rank_seed=True)
