"""mmmgc's tests. A regular package, so that ``tests.<folder>.<module>``
(e.g. ``tests.mugs.mugs_fixtures``) resolves to these files and not to a
``tests`` package that third-party wheels install into site-packages; the
repository root and this folder are on ``sys.path`` through the
``pythonpath`` setting of ``[tool:pytest]`` in setup.cfg."""
