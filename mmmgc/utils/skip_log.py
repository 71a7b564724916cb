"""Where the loading transform lists the images it skipped.

:class:`~mmmgc.datasets.transforms.RobustLoadImage` appends
``path<TAB>reason`` lines to the file named by the environment variable
:data:`SKIP_LOG_ENV`; :class:`~mmmgc.engine.hooks.BadImageReportHook` sets
it to ``<work_dir>/skipped_images.tsv`` before the dataloader workers start
(they inherit it) and counts the lines. The name lives here, below both
the data and the engine packages, so neither imports the other.
"""

#: Environment variable holding the path of the skipped-images list.
SKIP_LOG_ENV = 'MMMGC_SKIP_LOG'

__all__ = ['SKIP_LOG_ENV']
