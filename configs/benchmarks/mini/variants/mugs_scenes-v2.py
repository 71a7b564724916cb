# Textured scenes (TexturedFashionMNISTScenes: every item its own colour and
# texture, photo-texture backgrounds; no colour shortcut, measured in
# docs/benchmarks.md, "Textured scenes") with the paper's augmentation: the
# Mugs mini config, same budget, with MugsMultiCrop's paper defaults (DINO's
# weak views: ImageNet colour jitter p 0.8, grayscale 0.2, global blur
# 1.0 / 0.1, solarisation 0 / 0.2, local blur 0.5; strong views with
# RandAugment for half the images), blur sigma (0.1, 2.0) at 224 px scaled
# to the 64 px global crops. Crop sizes and scales stay the demo's.
_base_ = ['../mugs_vit-tiny-p8_mini.py']

jitter = dict(
    type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
grayscale = dict(
    type='RandomGrayscale',
    prob=0.2,
    keep_channels=True,
    channel_weights=(0.114, 0.587, 0.2989))
train_dataloader = dict(
    dataset=dict(
        type='TexturedFashionMNISTScenes',
        pipeline=[
            dict(
                type='MugsMultiCrop',
                num_global_crops=2,
                global_size=64,
                global_scale=(0.2, 1.0),
                num_local_crops=4,
                local_size=32,
                local_scale=(0.05, 0.25),
                strong_prob=0.5,
                color_jitter=(0.4, 0.4, 0.2, 0.1),
                color_jitter_prob=0.8,
                grayscale_prob=0.2,
                blur_sigma=(0.03, 0.57),
                global_blur_probs=(1.0, 0.1),
                global_solarize_probs=(0.0, 0.2),
                local_blur_prob=0.5),
            dict(type='PackInputs', algorithm_keys=['mugs_weak'])
        ]))
