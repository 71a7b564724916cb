# Runtime shared by every pretraining config (MGC, Mugs, the CPU demos):
# mmpretrain registry scope, mmmgc's modules, mmengine's default hooks
# (log every 50 iterations, checkpoint every 10 epochs, keep 3), seed 0.
# The full-size configs add pretrain_runtime.py on top of this one.
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
log_processor = dict(window_size=10)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, diff_rank_seed=True)
