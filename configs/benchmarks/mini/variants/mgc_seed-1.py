# Seed check (docs/benchmarks.md): the mgc mini config with training seed 1
# (same scenes; other crops, initialisation and sampling).
_base_ = ['../mgc_vit-tiny-p8_mini.py']

randomness = dict(seed=1, diff_rank_seed=True)
