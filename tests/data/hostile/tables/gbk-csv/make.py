"""The table as Chinese Excel saves "CSV (逗号分隔)": GBK."""

from pathlib import Path

text = (
    "unit,name,group,meetings,books[册]\ndongqiao,东桥村,东片,2,720\nshiqiao,石桥村,东片,4,1140\n"
)
Path("town.csv").write_bytes(text.encode("gbk"))
Path("town16.csv").write_bytes(
    text.replace("dongqiao", "d16").replace("shiqiao", "s16").encode("utf-16")
)
