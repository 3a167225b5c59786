import os

os.mkfifo("rb.toml")
