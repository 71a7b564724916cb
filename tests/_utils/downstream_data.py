"""Synthetic downstream data in the REAL on-disk formats.

- COCO instances: ``annotations/instances_{train,val}2017.json`` with RLE
  masks (pycocotools), JPEGs in ``{train,val}2017/``;
- Cityscapes instances (mmdet's COCO-format conversion):
  ``annotations/instancesonly_filtered_gtFine_{train,val}.json``, images
  in ``leftImg8bit/{train,val}/``;
- ADE20K: ``images/{training,validation}/*.jpg`` and
  ``annotations/{training,validation}/*.png`` (0 = ignore, 1..150);
- PASCAL VOC 2012 + aug: ``JPEGImages``, ``SegmentationClass``,
  ``SegmentationClassAug`` (0..20, 255 = ignore),
  ``ImageSets/Segmentation/{train,aug,val}.txt``;
- DAVIS 2017 (:func:`write_davis`): ``JPEGImages/480p/<seq>/*.jpg`` and
  palette PNG masks in ``Annotations/480p/<seq>/``;
- COCO keypoints (:func:`write_coco_keypoints`):
  ``annotations/person_keypoints_<split>.json`` (17 points) and JPEGs.

Every COCO / Cityscapes / ADE20K / VOC image holds random rectangles /
ellipses; the label of an object is its shape (0 rectangle, 1 ellipse,
2 triangle), so the data is learnable. DAVIS and keypoint pixels are
chosen by the caller or random.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np
from PIL import Image

IMG = 64


def _scene(rng: np.random.Generator,
           size: int = IMG) -> Tuple[np.ndarray, List[Tuple[int, np.ndarray]]]:
    """A BGR image and its objects as ``(shape_label, bool mask)``; later
    objects occlude earlier ones (masks are made disjoint)."""
    img = np.full((size, size, 3), rng.integers(0, 80, 3), np.uint8)
    img = (img + rng.normal(0, 8, img.shape)).clip(0, 255).astype(np.uint8)
    objs: List[Tuple[int, np.ndarray]] = []
    for _ in range(int(rng.integers(1, 4))):
        label = int(rng.integers(0, 3))
        m = np.zeros((size, size), np.uint8)
        side = int(rng.integers(size // 4, size // 2))
        x0, y0 = (int(v) for v in rng.integers(0, size - side, 2))
        if label == 0:
            cv2.rectangle(m, (x0, y0), (x0 + side, y0 + side), 1, -1)
        elif label == 1:
            cv2.ellipse(m, (x0 + side // 2, y0 + side // 2),
                        (side // 2, side // 3), 0, 0, 360, 1, -1)
        else:
            pts = np.array([[x0, y0 + side], [x0 + side, y0 + side],
                            [x0 + side // 2, y0]], np.int32)
            cv2.fillPoly(m, [pts], 1)
        colour = rng.integers(120, 256, 3)
        img[m > 0] = colour
        mask = m > 0
        for _, prev in objs:
            prev &= ~mask
        objs.append((label, mask))
    objs = [(lab, m) for lab, m in objs if m.sum() >= 16]
    if not objs:  # every image holds an object (filter_empty_gt)
        return _scene(rng, size)
    return img, objs


def _coco_json(path: str, images: List[dict], anns: List[dict],
               categories: List[dict]) -> None:
    with open(path, 'w') as f:
        json.dump(
            dict(images=images, annotations=anns, categories=categories), f)


def _write_instances(root: str, ann_path: str, img_dir: str, n: int,
                     categories: List[dict], seed: int) -> None:
    from pycocotools import mask as mask_utils
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, img_dir), exist_ok=True)
    os.makedirs(osp.dirname(osp.join(root, ann_path)), exist_ok=True)
    images, anns = [], []
    for i in range(n):
        img, objs = _scene(rng)
        name = f'{seed:02d}{i:04d}.jpg'
        cv2.imwrite(osp.join(root, img_dir, name), img)
        images.append(dict(id=i + 1, file_name=name, height=IMG, width=IMG))
        for label, m in objs:
            rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
            rle['counts'] = rle['counts'].decode('ascii')
            x, y, w, h = (float(v) for v in mask_utils.toBbox(rle))
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=i + 1,
                    category_id=categories[label]['id'],
                    segmentation=rle,
                    area=float(mask_utils.area(rle)),
                    bbox=[x, y, w, h],
                    iscrowd=0))
    _coco_json(osp.join(root, ann_path), images, anns, categories)


COCO_CLASSES = ('person', 'bicycle', 'car')
CITYSCAPES_CLASSES = ('person', 'rider', 'car', 'truck', 'bus', 'train',
                      'motorcycle', 'bicycle')


def make_coco(root: str, n_train: int = 4, n_val: int = 2) -> str:
    cats = [dict(id=i + 1, name=c) for i, c in enumerate(COCO_CLASSES)]
    _write_instances(
        root,
        'annotations/instances_train2017.json',
        'train2017',
        n_train,
        cats,
        seed=1)
    _write_instances(
        root,
        'annotations/instances_val2017.json',
        'val2017',
        n_val,
        cats,
        seed=2)
    return root


def make_cityscapes(root: str, n_train: int = 4, n_val: int = 2) -> str:
    cats = [dict(id=24 + i, name=c) for i, c in enumerate(CITYSCAPES_CLASSES)]
    _write_instances(
        root,
        'annotations/instancesonly_filtered_gtFine_train.json',
        'leftImg8bit/train',
        n_train,
        cats,
        seed=3)
    _write_instances(
        root,
        'annotations/instancesonly_filtered_gtFine_val.json',
        'leftImg8bit/val',
        n_val,
        cats,
        seed=4)
    return root


def _seg_pairs(rng: np.random.Generator, n: int,
               offset: int) -> List[Tuple[np.ndarray, np.ndarray]]:
    out = []
    for _ in range(n):
        img, objs = _scene(rng)
        seg = np.zeros((IMG, IMG), np.uint8)
        for label, m in objs:
            seg[m] = label + offset
        out.append((img, seg))
    return out


def make_ade20k(root: str, n_train: int = 4, n_val: int = 2) -> str:
    rng = np.random.default_rng(5)
    for split, n in (('training', n_train), ('validation', n_val)):
        os.makedirs(osp.join(root, 'images', split), exist_ok=True)
        os.makedirs(osp.join(root, 'annotations', split), exist_ok=True)
        # ADE20K maps: 0 = "other" (ignored by reduce_zero_label), 1..150;
        # background pixels get class 1 ("wall"), shapes 2..4
        for i, (img, seg) in enumerate(_seg_pairs(rng, n, offset=2)):
            seg[seg == 0] = 1
            seg[:2] = 0  # an ignored strip, as ADE20K has
            name = f'ADE_{split}_{i:08d}'
            cv2.imwrite(osp.join(root, 'images', split, name + '.jpg'), img)
            cv2.imwrite(
                osp.join(root, 'annotations', split, name + '.png'), seg)
    return root


def make_voc(root: str,
             n_train: int = 2,
             n_aug: int = 2,
             n_val: int = 2) -> str:
    rng = np.random.default_rng(6)
    for d in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
              'ImageSets/Segmentation'):
        os.makedirs(osp.join(root, d), exist_ok=True)
    lists: Dict[str, List[str]] = {}
    for split, n, seg_dir in (('train', n_train, 'SegmentationClass'),
                              ('aug', n_aug, 'SegmentationClassAug'),
                              ('val', n_val, 'SegmentationClass')):
        names = []
        for i, (img, seg) in enumerate(_seg_pairs(rng, n, offset=1)):
            name = f'2012_{split}{i:05d}'
            seg[-2:] = 255  # VOC's ignore label on object borders
            cv2.imwrite(osp.join(root, 'JPEGImages', name + '.jpg'), img)
            cv2.imwrite(osp.join(root, seg_dir, name + '.png'), seg)
            names.append(name)
        lists[split] = names
    for split, names in lists.items():
        with open(
                osp.join(root, 'ImageSets/Segmentation', split + '.txt'),
                'w') as f:
            f.write('\n'.join(names) + '\n')
    return root


def write_davis(root, name, frames, masks):
    """One DAVIS-2017 sequence under ``root`` (a ``pathlib.Path``): JPEG
    frames in ``JPEGImages/480p/<name>`` and palette PNG masks in
    ``Annotations/480p/<name>``."""
    img_dir = root / 'JPEGImages' / '480p' / name
    ann_dir = root / 'Annotations' / '480p' / name
    img_dir.mkdir(parents=True)
    ann_dir.mkdir(parents=True)
    palette = [0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (256 * 3 - 9)
    for t, (f, m) in enumerate(zip(frames, masks)):
        Image.fromarray(f).save(img_dir / f'{t:05d}.jpg', quality=95)
        p = Image.fromarray(m, mode='P')
        p.putpalette(palette)
        p.save(ann_dir / f'{t:05d}.png')


def write_coco_keypoints(root, split, num_images, seed):
    """COCO keypoints under ``root`` (a ``pathlib.Path``): images with one
    person each (box + 17 visible keypoints) in ``<split>/`` and
    ``annotations/person_keypoints_<split>.json``; returns the json path."""
    rng = np.random.default_rng(seed)
    (root / split).mkdir(parents=True)
    images, anns = [], []
    for i in range(num_images):
        h, w = 96, 80
        img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        name = f'{i:012d}.jpg'
        cv2.imwrite(str(root / split / name), img)
        images.append(dict(id=i + 1, file_name=name, height=h, width=w))
        x0, y0, bw, bh = 10., 8., 48., 72.
        kpts = []
        for _ in range(17):
            kpts += [
                float(x0 + rng.uniform(2, bw - 2)),
                float(y0 + rng.uniform(2, bh - 2)), 2
            ]
        anns.append(
            dict(
                id=i + 1,
                image_id=i + 1,
                category_id=1,
                bbox=[x0, y0, bw, bh],
                area=bw * bh,
                iscrowd=0,
                num_keypoints=17,
                keypoints=kpts))
    names = [
        'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
        'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
        'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
        'right_knee', 'left_ankle', 'right_ankle'
    ]
    cats = [
        dict(
            id=1,
            name='person',
            supercategory='person',
            keypoints=names,
            skeleton=[[16, 14], [14, 12]])
    ]
    ann_file = root / 'annotations' / f'person_keypoints_{split}.json'
    ann_file.parent.mkdir(exist_ok=True)
    ann_file.write_text(
        json.dumps(dict(images=images, annotations=anns, categories=cats)))
    return str(ann_file)


def make_all(root: str) -> Dict[str, str]:
    return dict(
        coco=make_coco(osp.join(root, 'coco')),
        cityscapes=make_cityscapes(osp.join(root, 'cityscapes')),
        ade20k=make_ade20k(osp.join(root, 'ade')),
        voc=make_voc(osp.join(root, 'voc')))
