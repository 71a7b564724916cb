# Control for mugs_scenes-v2.py: the Mugs mini config unchanged (the mini
# benchmark's strong colour jitter, no blur or solarisation) on the textured
# scenes (TexturedFashionMNISTScenes), same budget.
_base_ = ['../mugs_vit-tiny-p8_mini.py']

train_dataloader = dict(dataset=dict(type='TexturedFashionMNISTScenes'))
