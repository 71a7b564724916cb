"""Is there a low-level shortcut in the embedded scenes?

    python tools/benchmarks/shortcut_check.py [--num 512] [--seed 0]
        [--crop-scale 0.2 1.0] [--size 64] [--data old textured]
        [--augment paper strong]

Two views of each of ``--num`` pretraining scenes (Fashion-MNIST train
items, generation seed 0) are made with the papers' augmentation (MGC
Table 8: random resized crop, flip, ImageNet colour jitter 0.4 / 0.4 / 0.2
/ 0.1 with p = 0.8, grayscale 0.2, blur with sigma scaled to the crop size,
solarisation in view 2), and each view 1 retrieves its nearest view 2 among
all scenes with a colour histogram, a hue-saturation histogram and raw
pixels (:mod:`mmmgc.evaluation.shortcut_check`). ``--augment strong``
adds the hard colour augmentation that the mini benchmark used against the
shortcut (jitter 0.4 / 0.4 / 0.8 / 0.5 always, grayscale 0.5) for
comparison. Prints the top-1 (%) per data set, augmentation and descriptor
as a markdown table; chance is ``100 / num``.
"""
import argparse
import time

DATA = {
    'old': 'FashionMNISTScenes (flat colours, gradient background)',
    'textured': 'TexturedFashionMNISTScenes',
}


def make_data(name: str, num: int, size: int, seed: int):
    from mmmgc.datasets import (load_fashion_mnist, make_scenes,
                                make_textured_scenes)
    images, labels = load_fashion_mnist(split='train')
    fn = make_scenes if name == 'old' else make_textured_scenes
    return fn(images, labels, num, canvas=size, seed=seed)[0]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--num', type=int, default=512)
    p.add_argument(
        '--seed', type=int, default=0, help='seed of the augmentation')
    p.add_argument('--data-seed', type=int, default=0)
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--crop-scale', type=float, nargs=2, default=(0.2, 1.0))
    p.add_argument('--data', nargs='*', default=list(DATA), choices=list(DATA))
    p.add_argument(
        '--augment', nargs='*', default=['paper'], choices=['paper', 'strong'])
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmmgc.evaluation.shortcut_check import DESCRIPTORS, view_retrieval
    rows = []
    for name in args.data:
        imgs = make_data(name, args.num, args.size, args.data_seed)
        for aug in args.augment:
            t0 = time.time()
            res = view_retrieval(
                imgs,
                seed=args.seed,
                crop_scale=tuple(args.crop_scale),
                augment=aug)
            res['seconds'] = time.time() - t0
            rows.append((name, aug, res))
    head = ' | '.join(f'{d} top-1' for d in DESCRIPTORS)
    lines = [
        f'| scenes | augmentation | {head} | chance |',
        '|---' * (len(DESCRIPTORS) + 3) + '|'
    ]
    for name, aug, res in rows:
        cells = ' | '.join(f'{res[d]:.1f}' for d in DESCRIPTORS)
        lines.append(f"| {DATA[name]} | {aug} | {cells} | "
                     f"{res['chance']:.2f} |")
    print('\n'.join(lines))
    for name, aug, res in rows:
        print(f"{name}, {aug}: {res['seconds']:.1f} s")
    return rows


if __name__ == '__main__':
    main()
