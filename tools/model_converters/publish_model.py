# Copyright (c) mmmgc contributors. Follows OpenMMLab's publish_model.py.
"""Publish a checkpoint: strip training state and add the sha256 suffix.

    python tools/model_converters/publish_model.py IN OUT \
        [--keep-optimizer] [--strip-teacher] [--teacher-prefix P ...]
        [--trust-checkpoint]

Writes OUT without the resume-only entries (optimiser, parameter
schedulers, message hub, RNG states) unless ``--keep-optimizer``, and,
with ``--strip-teacher``, without the EMA teacher's weights
(``teacher.*`` of MGC and Mugs, ``momentum_encoder.*`` of older MGC
checkpoints and MoCo v3, or the given ``--teacher-prefix``). Then, as
OpenMMLab's own ``publish_model.py``, renames it to
``<OUT stem>-<first 8 hex digits of its sha256>.<ext>`` and prints the
final name. OUT may end in ``.pth`` or, for a backbone export
(``state_dict`` + ``meta`` only), ``.safetensors``.

mmmgc's loaders verify such a suffix and refuse a file whose sha256 does
not start with it. IN is read without running code from it
(``--trust-checkpoint`` loads a file whose pickle needs other types).
"""
import argparse
import pickle
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Strip a checkpoint and name it with its sha256')
    parser.add_argument('src', help='input checkpoint')
    parser.add_argument('dst', help='output name, without the hash suffix')
    parser.add_argument(
        '--keep-optimizer',
        action='store_true',
        help='keep optimizer, param_schedulers, message_hub and rng_states')
    parser.add_argument(
        '--strip-teacher',
        action='store_true',
        help='drop the EMA teacher weights (and ema_state_dict)')
    parser.add_argument(
        '--teacher-prefix',
        nargs='+',
        default=None,
        help='state_dict prefixes of the teacher (default: '
        'momentum_encoder. teacher.)')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load IN even when its pickle needs types outside the '
        'allow-list (runs code from the file: only for a file you checked)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmmgc.checkpoint import (TEACHER_PREFIXES, CheckpointHashError,
                                  publish_checkpoint, set_trust_checkpoints)
    if args.trust_checkpoint:
        set_trust_checkpoints(True)
    try:
        final, removed = publish_checkpoint(
            args.src,
            args.dst,
            strip_optimizer=not args.keep_optimizer,
            strip_teacher=args.strip_teacher,
            teacher_prefixes=tuple(args.teacher_prefix or TEACHER_PREFIXES))
    except (ValueError, KeyError, FileNotFoundError, CheckpointHashError,
            pickle.UnpicklingError) as err:
        print(f'publish_model: ERROR: {err}', file=sys.stderr)
        return 1
    print(f'publish_model: wrote {final} (removed: '
          f'{", ".join(removed) or "nothing"})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
