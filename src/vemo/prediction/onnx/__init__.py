"""A model out of PyTorch: self-describing ONNX files, proven equal to the network they came
from (`export`), run by ONNX Runtime (`file`), made int8 (`int8`), and ONNX Runtime as the
default CPU runtime of prediction (`runtime`)."""
