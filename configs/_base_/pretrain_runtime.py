# Runtime of the full-size pretraining configs (MGC and Mugs, image
# folders on disk): default_runtime.py plus a visualizer and three hooks.
# A non-finite loss stops the run before the step (nothing saved over the last
# good checkpoint); skipped images are reported with a count; the RNG states
# of every rank go into the checkpoints so that --resume continues exactly.
# A method's own hooks go before these (Mugs: `[...] + _base_.custom_hooks`).
_base_ = ['./default_runtime.py']
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='BadImageReportHook'),
    dict(type='RNGStateHook'),
]
