from .mgc_head import MGCHead
from .mugs_group_head import MugsGroupHead
from .mugs_infonce_head import MugsInfoNCEHead

__all__ = ['MGCHead', 'MugsGroupHead', 'MugsInfoNCEHead']
