"""A FIFO in the evidence folder and one named on the command line (each hung the run)."""

import os

os.mkfifo("evidence/pipe.csv")
os.mkfifo("named.toml")
os.symlink("/dev/zero", "evidence/zero.toml")
