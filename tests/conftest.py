import torch

# The test models are tiny: one thread is faster than a contended pool on a small CI machine.
torch.set_num_threads(1)
