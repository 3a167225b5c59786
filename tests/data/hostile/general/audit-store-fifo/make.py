import os

os.mkfifo("store.db")
