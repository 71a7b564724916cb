from .strict_pretrained_vit import StrictPretrainedViT

__all__ = ['StrictPretrainedViT']
