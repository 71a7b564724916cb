"""An unlabeled folder of images (COCO train2017, ImageNet train, ADE20K
images, ...) for self-supervised pretraining."""
import os
import os.path as osp
import warnings
from typing import List, Sequence

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp',
                  '.ppm', '.pgm', '.gif')


def scan_images(root: str,
                extensions: Sequence[str] = IMG_EXTENSIONS) -> tuple:
    """Sorted relative paths of the files under ``root`` (recursively) whose
    extension is an image extension, and the list of other files."""
    images, others = [], []
    exts = tuple(e.lower() for e in extensions)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
        for name in sorted(filenames):
            if name.startswith('.'):
                continue
            rel = osp.relpath(osp.join(dirpath, name), root)
            (images if name.lower().endswith(exts) else others).append(rel)
    return images, others


@DATASETS.register_module()
class UnlabeledImageFolder(BaseDataset):
    """Every image file under ``data_root`` (recursively, sorted), without
    labels. Files that are not images by extension are listed once in a
    warning; files that fail to decode are handled by the loading transform
    (see :class:`~mmmgc.datasets.transforms.RobustLoadImage`).

    Args:
        data_root (str): The image folder. A missing folder or one without
            images is an error at build time that names the path.
        pipeline (list): Transforms; start with ``RobustLoadImage``.
        extensions (tuple): Image extensions. Defaults to
            :data:`IMG_EXTENSIONS`.
        max_refetch (int): How many other samples to try when the pipeline
            skips one. Defaults to 1000.
        test_mode (bool): Passed to ``BaseDataset``.
        lazy_init (bool): Passed to ``BaseDataset``.
    """

    def __init__(self,
                 data_root: str,
                 pipeline: List = (),
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 max_refetch: int = 1000,
                 test_mode: bool = False,
                 lazy_init: bool = False) -> None:
        self.extensions = tuple(extensions)
        root = osp.expanduser(data_root)
        if not osp.isdir(root):
            raise FileNotFoundError(
                f'UnlabeledImageFolder: data_root {root!r} does not exist or '
                'is not a folder (check `train_dataloader.dataset.data_root` '
                'in the config)')
        super().__init__(
            ann_file='',
            data_root=root,
            pipeline=pipeline,
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)

    def load_data_list(self) -> List[dict]:
        images, others = scan_images(self.data_root, self.extensions)
        if not images:
            exts = ', '.join(self.extensions)
            raise ValueError(f'UnlabeledImageFolder: no image files ({exts}) '
                             f'under data_root {self.data_root!r}')
        if others:
            shown = ', '.join(others[:5])
            if len(others) > 5:
                shown += ' ...'
            warnings.warn(f'UnlabeledImageFolder: ignoring {len(others)} '
                          f'non-image file(s) under {self.data_root}: {shown}')
        return [
            dict(img_path=osp.join(self.data_root, rel), sample_idx=i)
            for i, rel in enumerate(images)
        ]
