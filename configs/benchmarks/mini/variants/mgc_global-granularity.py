# MGC investigation (docs/benchmarks.md): add the whole-view granularity.
# The paper's {1, 2, 7, 14} on a 14 x 14 grid includes c = 14, one cell per
# view (an image-level contrast); the demo's {1, 2, 4} on the 8 x 8 grid
# stops at 2 x 2 cells. Here {1, 2, 4, 8} with 3, 3, 2, 1 samples.
_base_ = ['../mgc_vit-tiny-p8_mini.py']

granularities = (1, 2, 4, 8)
num_samples = (3, 3, 2, 1)
model = dict(granularities=granularities, num_samples=num_samples)
