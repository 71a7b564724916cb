# Control for mocov3_scenes-v2.py: the MoCo v3 mini config unchanged (the
# mini benchmark's strong colour jitter: 0.4 / 0.4 / 0.8 / 0.5 always,
# grayscale 0.5) on the textured scenes (TexturedFashionMNISTScenes), same
# budget. Tells whether MoCo v3 fails on the textured scenes with the
# paper's jitter because of the data or because of the colour cues.
_base_ = ['../mocov3_vit-tiny-p8_mini.py']

train_dataloader = dict(dataset=dict(type='TexturedFashionMNISTScenes'))
