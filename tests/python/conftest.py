import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


@pytest.fixture(scope="session")
def build_dir():
    return os.environ.get("SPARSERT_BUILD_DIR", os.path.join(ROOT, "build"))


@pytest.fixture(scope="session")
def models_dir(build_dir):
    d = os.path.join(build_dir, "models")
    if not os.path.exists(os.path.join(d, "manifest.txt")):
        pytest.fail(f"generated models missing in {d}: run tests/models/generate.py --out {d}")
    return d
