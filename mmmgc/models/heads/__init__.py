from .mugs_group_head import MugsGroupHead
from .mugs_infonce_head import MugsInfoNCEHead

__all__ = ['MugsGroupHead', 'MugsInfoNCEHead']
