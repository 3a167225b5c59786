import os

os.mkfifo("base.toml")
