from pathlib import Path

p = Path("town.csv")
p.write_text(
    p.read_text(encoding="utf-8").replace(",145,", ",145 m^" + "1" * 5000 + ",", 1),
    encoding="utf-8",
)
