"""Classic vision networks written for apisr with torchvision-compatible key names.

torchvision is not a dependency (it does not import beside the CPU torch we use), but
its published checkpoints are the lingua franca of perceptual losses and scorers, so
these modules keep its state-dict layout and load its files strictly.
"""
