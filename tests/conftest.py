import os
import random

import numpy as np
import pytest
import torch

# The test models are tiny: one thread is faster than a contended pool on a small CI machine.
torch.set_num_threads(1)

# A wrong answer to a lesson's self-checked exercise raises, so nbval fails when a solution or its check breaks.
# Kernels started by nbval inherit this environment.
os.environ["ROBVIZ_STRICT_EXERCISES"] = "1"


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state, whichever worker runs it and whatever ran before it."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
