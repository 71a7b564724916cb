from .mgc_soft_target_loss import (MGCSoftTargetLoss, hard_pair_infonce,
                                   soft_target_cross_entropy)

__all__ = [
    'MGCSoftTargetLoss', 'soft_target_cross_entropy', 'hard_pair_infonce'
]
