from .mgc_soft_target_loss import (MGCSoftTargetLoss, hard_pair_infonce,
                                   soft_target_cross_entropy)
from .mugs_group_loss import MugsGroupLoss, mugs_group_loss_matrix
from .mugs_infonce_loss import MugsInfoNCELoss, mugs_infonce_loss_matrix
from .mugs_pairing import MugsPairLoss, mugs_crop_pairs, mugs_pair_weights

__all__ = [
    'MGCSoftTargetLoss', 'soft_target_cross_entropy', 'hard_pair_infonce',
    'MugsGroupLoss', 'mugs_group_loss_matrix', 'MugsInfoNCELoss',
    'mugs_infonce_loss_matrix', 'mugs_crop_pairs', 'mugs_pair_weights',
    'MugsPairLoss'
]
