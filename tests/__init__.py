"""mmmgc's tests, laid out like the package (``test_models``,
``test_datasets``, ``test_engine``, ...) with shared helpers in
``tests._utils``. A regular package, so that ``tests.<folder>.<module>``
resolves to these files and not to a ``tests`` package that third-party
wheels install into site-packages; the repository root is on ``sys.path``
through the ``pythonpath`` setting of ``[tool:pytest]`` in setup.cfg."""
