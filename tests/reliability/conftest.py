"""The reliability suite: kill, corrupt and attack every command, and count what held.

The fast part runs in CI; `python benchmarks/reliability.py` runs it all (10 kills per command)
and prints the table. Each test records (what, tried, held) through `record` (tests/conftest.py),
into the file named by $VEMO_RELIABILITY_REPORT when it is set; the hostile ONNX files, damaged
prediction folders and concurrent writers of their own stages' tests record there too.
"""
