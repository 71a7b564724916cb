from . import transforms  # noqa: F401
from .fashion_mnist import (FASHION_MNIST_CLASSES, FashionMNISTItems,
                            FashionMNISTScenes, default_data_root,
                            load_fashion_mnist, make_items, make_scenes)
from .image_folder import UnlabeledImageFolder, scan_images
from .seeded_augment import (PerSampleSeededDataset, PerSampleSeededSampler,
                             per_sample_seed, seeded_global_rng)
from .textured_scenes import (TEXTURE_SOURCES, TexturedFashionMNISTItems,
                              TexturedFashionMNISTScenes, load_texture_pool,
                              make_textured_items, make_textured_scenes)

__all__ = [
    'FASHION_MNIST_CLASSES', 'FashionMNISTItems', 'FashionMNISTScenes',
    'default_data_root', 'load_fashion_mnist', 'make_items', 'make_scenes',
    'UnlabeledImageFolder', 'scan_images', 'PerSampleSeededDataset',
    'PerSampleSeededSampler', 'per_sample_seed', 'seeded_global_rng',
    'TEXTURE_SOURCES', 'TexturedFashionMNISTItems',
    'TexturedFashionMNISTScenes', 'load_texture_pool', 'make_textured_items',
    'make_textured_scenes'
]
