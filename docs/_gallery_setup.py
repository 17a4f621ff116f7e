"""Set-up that sphinx-gallery runs before each example of the gallery."""


def one_torch_thread(gallery_conf, fname):
    """Run the example with one torch thread, as on a small shared machine."""
    import torch

    torch.set_num_threads(1)
