"""Shared pytest configuration: headless plotting, GPU detection, fixtures paths."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("YOLO_OFFLINE", "1")


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config, items):
    if not cuda_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU (none found on this machine)")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
