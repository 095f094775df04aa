"""The models layer: model families (PyTorch and from-scratch) and their descriptions."""
