"""The from-scratch MLP back-end's training: NumPy on the CPU, CuPy on a GPU."""
