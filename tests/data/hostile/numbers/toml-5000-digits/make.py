from pathlib import Path

p = Path("ev/taoyuan.toml")
t = p.read_text(encoding="utf-8")
p.write_text(
    t.replace("room_area                = 145", "room_area                = " + "1" * 5000 + ""),
    encoding="utf-8",
)
