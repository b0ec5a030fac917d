"""Finding, aligning and cropping faces."""
