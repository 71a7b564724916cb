"""Checkpoint files: the one safe loader, safetensors export, head-count
records, OpenMMLab-style publishing, strict loading of pretrained weights
into a module and the timm <-> mmpretrain ViT key mapping."""
from .head_count import (STANDARD_NUM_HEADS, HeadCountError, arch_num_heads,
                         check_num_heads, module_num_heads,
                         num_heads_from_cfg_text)
from .key_renames import MGC_KEY_RENAMES, rename_key, rename_state_dict_keys
from .publish import (TEACHER_PREFIXES, TRAINING_STATE_KEYS, hashed_name,
                      publish_checkpoint, strip_checkpoint)
from .safe_load import (ALLOWED_GLOBALS, TRUST_ENV, CheckpointHashError,
                        UntrustedCheckpointError, allowed_globals,
                        find_unsafe_globals, hash_suffix, load_checkpoint_file,
                        register_mmengine_loader, set_trust_checkpoints,
                        sha256_file, trust_checkpoints, verify_hash_suffix)
from .safetensors_io import (SAFETENSORS_SUFFIX, decode_meta, encode_meta,
                             is_safetensors, load_safetensors,
                             read_safetensors_meta, save_safetensors)
from .strict_load import (BackboneCheckpointError, StrictPretrainedInitMixin,
                          TransferReport, compare_checkpoint,
                          load_checkpoint_strict, read_checkpoint,
                          read_state_dict)
from .vit_convert import (TIMM_HEAD_PREFIXES, ViTKeyError, backbone_checkpoint,
                          check_vit_complete, mmpretrain_to_timm_vit,
                          strip_prefix, timm_to_mmpretrain_vit, vit_depth,
                          vit_summary)

__all__ = [
    'ALLOWED_GLOBALS', 'TRUST_ENV', 'CheckpointHashError',
    'UntrustedCheckpointError', 'allowed_globals', 'find_unsafe_globals',
    'hash_suffix', 'load_checkpoint_file', 'register_mmengine_loader',
    'set_trust_checkpoints', 'sha256_file', 'trust_checkpoints',
    'verify_hash_suffix', 'SAFETENSORS_SUFFIX', 'decode_meta', 'encode_meta',
    'is_safetensors', 'load_safetensors', 'read_safetensors_meta',
    'save_safetensors', 'TEACHER_PREFIXES', 'TRAINING_STATE_KEYS',
    'hashed_name', 'publish_checkpoint', 'strip_checkpoint',
    'STANDARD_NUM_HEADS', 'HeadCountError', 'arch_num_heads',
    'check_num_heads', 'module_num_heads', 'num_heads_from_cfg_text',
    'save_checkpoint_file', 'BackboneCheckpointError',
    'StrictPretrainedInitMixin', 'TransferReport', 'compare_checkpoint',
    'load_checkpoint_strict', 'read_checkpoint', 'read_state_dict',
    'TIMM_HEAD_PREFIXES', 'ViTKeyError', 'backbone_checkpoint',
    'check_vit_complete', 'mmpretrain_to_timm_vit', 'strip_prefix',
    'timm_to_mmpretrain_vit', 'vit_depth', 'vit_summary', 'MGC_KEY_RENAMES',
    'rename_key', 'rename_state_dict_keys'
]


def save_checkpoint_file(checkpoint: dict, path: str) -> str:
    """Write an exported ``{'state_dict', 'meta'}`` checkpoint: safetensors
    when ``path`` ends in ``.safetensors``, ``torch.save`` otherwise."""
    import os
    import os.path as osp

    import torch
    if is_safetensors(path):
        return save_safetensors(checkpoint, path)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    torch.save(checkpoint, path)
    return path
