"""A tiny ``mmpretrain.VisionTransformer`` architecture for tests."""


def tiny_vit_arch(embed_dims: int = 64,
                  num_layers: int = 2,
                  num_heads: int = 4) -> dict:
    """An mmpretrain ViT arch dict for tests (2 layers, 64 wide)."""
    return dict(
        embed_dims=embed_dims,
        num_layers=num_layers,
        num_heads=num_heads,
        feedforward_channels=4 * embed_dims)
