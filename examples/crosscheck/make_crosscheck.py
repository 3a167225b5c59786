"""Make the cross-check round of the example town (deterministic; stdlib only).

    python examples/crosscheck/make_crosscheck.py

From the villages' self-assessments (examples/town/town.csv) it writes:
- self.csv  — the self-assessments, as the villages sent them (大湾村 does not
  declare its fabricated records);
- peer.csv  — what each village's team found at the village the plan
  (`fulian-eval plan examples/town/units.csv --seed 7`) sent it to: mostly the
  same, but fewer registers, meetings or room area where the peers looked
  closer, and 大湾村's fabricated records found;
- town.csv  — the town office's verification of seven villages.
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOWN = HERE.parent / "town" / "town.csv"

# plan --seed 7 (assessor -> unit), written out so this script needs no install
PEER_OF = {
    "taoyuan": "dongqiao", "dongqiao": "huayuan", "xingang": "liutang", "liutang": "shiqiao",
    "shiqiao": "taoyuan", "yangwan": "xingang", "huayuan": "yangwan",
}

# unit -> {column: value} changes found by the peer team
PEER_FINDINGS = {
    "huayuan": {"meetings": "3", "registers": "工作活动记录簿;妇女培训登记簿;各类表彰登记簿;群众来信来访登记簿",
                "points:archives.quality": "3"},
    "shiqiao": {"funds[元]": "1500"},           # the 元/万元 mix-up, found
    "taoyuan": {"books[册]": "1000"},            # "1000余" counted: 1000
    "longquan": {"cases_marriage": "2", "cases_violence": "1", "cases_rights": "1"},
    "dawan": {"fabricated": "是"},              # the veto the village did not declare
    "meiling": {"room_area[m^2]": "25"},
    "jinpan": {"registered": "300"},
}

# the town verifies seven villages: it agrees with the peers, except where it looked closer still
TOWN_CHECKS = {
    "huayuan": {"meetings": "3", "registers": "工作活动记录簿;妇女培训登记簿;各类表彰登记簿;群众来信来访登记簿",
                "points:archives.quality": "3.5"},
    "shiqiao": {"funds[元]": "1500"},
    "dawan": {"fabricated": "是"},
    "meiling": {"room_area[m^2]": "28"},
    "songwu": {},
    "changan": {},
    "hetang": {"satisfaction[%]": "88"},
}


def main() -> None:
    with TOWN.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col = {h: i for i, h in enumerate(header)}
    by_unit = {r[col["unit"]]: r for r in body}
    peer_by_unit = {unit: assessor for assessor, unit in PEER_OF.items()}

    def write(name: str, out_rows: list[list[str]]) -> None:
        with (HERE / name).open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(out_rows)

    self_rows = []
    for r in body:
        r = list(r)
        if r[col["unit"]] == "dawan":
            r[col["fabricated"]] = "否"
        self_rows.append(r)
    write("self.csv", self_rows)

    peer_rows = []
    for r in self_rows:
        r = list(r)
        unit = r[col["unit"]]
        r[col["role"]] = "peer"
        r[col["assessor"]] = peer_by_unit.get(unit, f"{r[col['group']]}互查组")
        for k, v in PEER_FINDINGS.get(unit, {}).items():
            r[col[k]] = v
        peer_rows.append(r)
    write("peer.csv", peer_rows)

    town_rows = []
    for unit, changes in TOWN_CHECKS.items():
        r = list(by_unit[unit])
        r[col["role"]] = "town"
        r[col["assessor"]] = "镇妇联核查组"
        for k, v in changes.items():
            r[col[k]] = v
        town_rows.append(r)
    write("town.csv", town_rows)


if __name__ == "__main__":
    main()
