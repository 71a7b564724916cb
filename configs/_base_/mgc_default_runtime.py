# Runtime shared by the MGC pretraining configs.
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmmgc'], allow_failed_imports=False)
default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_processor = dict(window_size=10)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, diff_rank_seed=True)
# A non-finite loss stops the run before the step (nothing saved over the last
# good checkpoint); skipped images are reported with a count; the RNG states
# of every rank go into the checkpoints so that --resume continues exactly.
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='BadImageReportHook'),
    dict(type='RNGStateHook'),
]
# MoCoV3ViT freezes its sin-cos pos_embed in init_weights(), after the
# Runner has wrapped the model in DDP (as in mmpretrain's MoCo v3 configs).
find_unused_parameters = True
