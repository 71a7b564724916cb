"""Helpers shared by the tests, imported as ``tests._utils.<module>``:
tiny models and configs, reference implementations, synthetic data in
real on-disk formats, and runners for the training tools."""
import os.path as osp

#: The checkout's root folder (the parent of ``tests/``).
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
