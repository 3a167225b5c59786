import os

os.mkfifo("units.csv")
