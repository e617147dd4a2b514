"""TensorFlow for the appendix notebook, and nowhere else.

RLlib imports TensorFlow in every process that imports it, whenever TensorFlow can be
imported (``try_import_tf()`` at module level), which would cost each of the course's
PyTorch notebooks seconds and about half a GB in every process. So TensorFlow lives in a
folder of its own, ``<environment>/tf-site`` (``make setup`` and Binder's postBuild
install it from requirements/tf.lock.txt), and only the appendix puts it on the path,
before anything imports RLlib. Importing this module imports neither.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

TF_SITE = Path(sys.prefix) / "tf-site"

# Read by TensorFlow when it is imported, here and in every Ray worker (they inherit them).
TF_ENVIRONMENT = {
    "TF_USE_LEGACY_KERAS": "1",  # Keras 2 (tf-keras): RLlib's TF policies fail with Keras 3
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's C++ start-up lines
    "TF_ENABLE_ONEDNN_OPTS": "0",  # its note about oneDNN's rounding
}

# Read by RLlib when it is imported: it imports PyTorch too wherever it can, and the appendix
# uses none of it (memory saved in Binder's limits). RLlib names
# this switch for its own tests and logs a warning each time it leaves PyTorch out (quieted below).
NO_TORCH_ENVIRONMENT = {"RLLIB_TEST_NO_TORCH_IMPORT": "1"}


class TensorFlowTooLate(RuntimeError):
    """RLlib was imported before use_tensorflow(): it has settled on "no TensorFlow"."""


def use_tensorflow() -> Path:
    """Make TensorFlow importable in this process and in the Ray workers it starts.
    Call it first, before importing arena_lib's game or RLlib; returns the folder."""
    if "ray.rllib" in sys.modules and "tensorflow" not in sys.modules:
        raise TensorFlowTooLate(
            "RLlib is already imported in this kernel without TensorFlow. Restart the kernel "
            "(Kernel > Restart Kernel) and run use_tensorflow() in the first cell, before anything else."
        )
    if not (TF_SITE / "tensorflow").is_dir():
        raise FileNotFoundError(
            f"TensorFlow is not installed in {TF_SITE}. `make setup` installs it there "
            "(pip install --no-deps --target <that folder> -r requirements/tf.lock.txt)."
        )
    os.environ.update(TF_ENVIRONMENT)
    os.environ.update(NO_TORCH_ENVIRONMENT)
    logging.getLogger("ray.rllib.utils.framework").setLevel(logging.ERROR)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(TF_SITE) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([*paths, str(TF_SITE)])
    if str(TF_SITE) not in sys.path:
        sys.path.append(str(TF_SITE))
    return TF_SITE
