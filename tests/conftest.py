import torch

# One thread: the suite runs on 2 shared cores, where torch's default of two
# threads makes timings erratic and fits slower.
torch.set_num_threads(1)
