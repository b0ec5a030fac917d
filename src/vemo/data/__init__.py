"""Stage 2 of the paper: labels, splits, and the tensors models train on."""
