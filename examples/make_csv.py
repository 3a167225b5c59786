#!/usr/bin/env python3
"""Write the example town's evidence twice, from the one table below.

    python examples/make_csv.py          # writes examples/town/evidence/*.toml, examples/town/town.csv
                                         # and the rejected examples in examples/town-errors/
    python examples/make_csv.py --check  # only checks that the files on disk are what this script writes

The 21 villages and communities of one town (东片 / 西片 / 北片, 7 each),
self-assessed (自查自评) against rules/town-village-2026.toml.  Every unit is
written as one TOML evidence file and as one row of a CSV table; the two must
score identically.  A value that the TOML file states in another unit (a
deliberate mistake, or just a different way of writing it) is a ``Q(toml, csv)``
pair: the TOML text as the village wrote it, and the same amount in the unit of
the CSV column header.  Approximate figures ("1000余") are written the same way
in both.  Standard library only; the output is deterministic.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOWN = HERE / "town"
DATE = "2026-11-20"


class Q:
    """One amount written two ways: ``toml`` in the evidence file, ``csv`` in the table."""

    def __init__(self, toml: object, csv: object) -> None:
        self.toml = toml
        self.csv = csv


# (field, CSV header).  A header may carry the unit its column is written in.
FIELDS = [
    ("households", "households[户]"),
    ("population", "population[人]"),
    ("floating_population", "floating_population[人]"),
    ("women_director", "women_director"),
    ("registers", "registers"),
    ("rosters", "rosters"),
    ("meetings", "meetings"),
    ("trainings", "trainings"),
    ("trainees", "trainees"),
    ("cases_received", "cases_received"),
    ("cases_closed", "cases_closed"),
    ("cases_marriage", "cases_marriage"),
    ("cases_violence", "cases_violence"),
    ("cases_rights", "cases_rights"),
    ("fabricated", "fabricated"),
    ("has_plate", "has_plate"),
    ("station", "station"),
    ("room_area", "room_area[m^2]"),
    ("books", "books[册]"),
    ("computers", "computers[台]"),
    ("funds", "funds[元]"),
    ("registered", "registered"),
    ("address_matched", "address_matched"),
    ("wrong_records", "wrong_records"),
    ("wrong_records_women", "wrong_records_women"),
    ("rentals", "rentals"),
    ("rental_registered", "rental_registered"),
    ("rental_contracts", "rental_contracts"),
    ("migrant_activities", "migrant_activities"),
    ("parent_school", "parent_school"),
    ("lectures", "lectures"),
    ("satisfaction", "satisfaction[%]"),
    ("visits", "visits"),
    ("job_seekers", "job_seekers"),
    ("reemployed", "reemployed"),
    ("stated_reemployment_rate", "stated_reemployment_rate[%]"),
    ("model_families", "model_families"),
    ("loans", "loans[万元]"),
    ("award_level", "award_level"),
    ("hosted_events", "hosted_events"),
    ("late_reports", "late_reports"),
    ("petitions", "petitions"),
]
FIELD_NAMES = [f for f, _ in FIELDS]
MANUAL = ["archives.quality"]  # manual items: TOML [points], CSV column "points:<item>"


def unit(
    uid: str, name: str, group: str, kind: str, quality: float | None = None, **values: object
) -> dict:
    unknown = set(values) - set(FIELD_NAMES)
    if unknown:
        raise SystemExit(f"{uid}: unknown fields {sorted(unknown)}")
    points = {} if quality is None else {"archives.quality": quality}
    return {
        "id": uid,
        "name": name,
        "group": group,
        "kind": kind,
        "values": values,
        "points": points,
    }


REGISTERS = [
    "工作活动记录簿",
    "妇女培训登记簿",
    "各类表彰登记簿",
    "群众来信来访登记簿",
    "重点帮扶对象登记簿",
]  # 五簿
ROSTERS = [
    "妇女干部花名册",
    "妇女代表花名册",
    "巾帼志愿者花名册",
    "留守妇女花名册",
    "困难妇女花名册",
]  # 五册
STATION = ["办公场所", "标牌", "公示栏", "来访登记簿"]  # 维权站“四有”

# Deliberate mistakes (see town/README.md): shiqiao 元/万元, liutang hectare,
# taoyuan and fenglin approximate figures, longquan subtypes > total, beishan
# stated rate, huayuan all full marks, yangwan missing evidence, songwu no
# floating population, dawan vetoed (弄虚作假).
# fmt: off
UNITS = [
    unit("dongqiao", "东桥村", "东片", "village",
        quality=2.5, households=1064, population=3199, floating_population=891,
        women_director="王秀英", registers=["工作活动记录簿", "妇女培训登记簿", "重点帮扶对象登记簿"], rosters=ROSTERS,
        meetings=2, trainings=6, trainees=120, cases_received=1, cases_closed=1, cases_marriage=1,
        cases_violence=0, cases_rights=0, fabricated=False, has_plate=True,
        station=["办公场所", "标牌", "来访登记簿"], room_area=120, books=720, computers=1, funds=11800,
        registered=829, address_matched=751, wrong_records=8, wrong_records_women=0, rentals=214,
        rental_registered=214, rental_contracts=False, migrant_activities=5, parent_school=True,
        lectures=2, satisfaction=93.2, visits=5, job_seekers=56, reemployed=25,
        stated_reemployment_rate=44.6, model_families=13, loans=0, award_level=0, hosted_events=0,
        late_reports=2, petitions=0),
    unit("shiqiao", "石桥村", "东片", "village",
        quality=3.5, households=1430, population=4375, floating_population=671,
        women_director="李桂英", registers=REGISTERS, rosters=ROSTERS, meetings=4, trainings=6,
        trainees=126, cases_received=9, cases_closed=9, cases_marriage=5, cases_violence=2,
        cases_rights=1, fabricated=False, has_plate=True, station=STATION, room_area=115,
        books=1140, computers=2, funds=Q("15 万元", 150000), registered=614, address_matched=545,
        wrong_records=7, wrong_records_women=0, rentals=219, rental_registered=219,
        rental_contracts=True, migrant_activities=4, parent_school=False, lectures=5,
        satisfaction=93.1, visits=8, job_seekers=39, reemployed=10, stated_reemployment_rate=25.6,
        model_families=18, loans=50, award_level=0, hosted_events=0, late_reports=0, petitions=0),
    unit("taoyuan", "桃园村", "东片", "village",
        quality=3.5, households=1094, population=3275, floating_population=989,
        women_director="张玉兰", registers=["工作活动记录簿", "各类表彰登记簿", "群众来信来访登记簿"], rosters=ROSTERS,
        meetings=5, trainings=5, trainees="160多", cases_received=2, cases_closed=2,
        cases_marriage=1, cases_violence=0, cases_rights=1, fabricated=False, has_plate=True,
        station=["办公场所", "标牌", "公示栏"], room_area=145, books="1000余", computers=0, funds=4600,
        registered=950, address_matched=892, wrong_records=4, wrong_records_women=2, rentals=299,
        rental_registered=299, rental_contracts=True, migrant_activities=4, parent_school=True,
        lectures=1, satisfaction=93.5, visits=12, job_seekers=58, reemployed=26,
        stated_reemployment_rate=44.8, model_families=4, loans=0, award_level=1, hosted_events=0,
        late_reports=0, petitions=0),
    unit("liutang", "柳塘村", "东片", "village",
        quality=3.5, households=1726, population=5169, floating_population=1179,
        women_director="刘秀兰", registers=REGISTERS, rosters=ROSTERS, meetings=5, trainings=7,
        trainees=160, cases_received=1, cases_closed=1, cases_marriage=1, cases_violence=0,
        cases_rights=0, fabricated=False, has_plate=True, station=STATION,
        room_area=Q("0.012 hectare", 120), books=1220, computers=0, funds=2100, registered=1059,
        address_matched=977, wrong_records=0, wrong_records_women=0, rentals=305,
        rental_registered=305, rental_contracts=True, migrant_activities=3, parent_school=True,
        lectures=4, satisfaction=86.3, visits=8, job_seekers=62, reemployed=26,
        stated_reemployment_rate=41.9, model_families=10, loans=20, award_level=1, hosted_events=0,
        late_reports=0, petitions=0),
    unit("xingang", "新港社区", "东片", "community",
        quality=3.5, households=1604, population=4714, floating_population=1243,
        women_director="陈凤英", registers=REGISTERS, rosters=ROSTERS, meetings=2, trainings=5,
        trainees=140, cases_received=14, cases_closed=14, cases_marriage=8, cases_violence=0,
        cases_rights=2, fabricated=False, has_plate=True, station=STATION, room_area=155,
        books=640, computers=4, funds=Q("0.96 万元", 9600), registered=1220, address_matched=1077,
        wrong_records=3, wrong_records_women=0, rentals=253, rental_registered=249,
        rental_contracts=True, migrant_activities=3, parent_school=True, lectures=3,
        satisfaction=96.1, visits=7, job_seekers=35, reemployed=18, stated_reemployment_rate=51.4,
        model_families=13, loans=30, award_level=1, hosted_events=0, late_reports=0, petitions=0),
    unit("yangwan", "杨湾村", "东片", "village",
        households=1578, population=4895, floating_population=1555, women_director="杨丽娟",
        registers=REGISTERS, rosters=ROSTERS, meetings=4, trainings=3, trainees=87,
        cases_received=3, cases_closed=3, cases_marriage=2, cases_violence=0, cases_rights=1,
        fabricated=False, has_plate=True, station=STATION, room_area=105, funds=11600,
        registered=1513, address_matched=1374, wrong_records=1, wrong_records_women=0, rentals=513,
        rental_registered=513, rental_contracts=True, migrant_activities=6, parent_school=True,
        lectures=4, visits=5, job_seekers=40, reemployed=12, stated_reemployment_rate=30.0,
        model_families=22, loans=20, award_level=1, hosted_events=1, late_reports=0, petitions=0),
    unit("huayuan", "花园社区", "东片", "community",
        quality=4.5, households=2529, population=7703, floating_population=5831,
        women_director="黄美华", registers=REGISTERS, rosters=ROSTERS, meetings=6, trainings=6,
        trainees=160, cases_received=8, cases_closed=8, cases_marriage=5, cases_violence=0,
        cases_rights=2, fabricated=False, has_plate=True, station=STATION, room_area=150,
        books=2200, computers=3, funds=28000, registered=5819, address_matched=5586,
        wrong_records=0, wrong_records_women=0, rentals=1802, rental_registered=1802,
        rental_contracts=True, migrant_activities=6, parent_school=True, lectures=4,
        satisfaction=97.5, visits=8, job_seekers=24, reemployed=14, stated_reemployment_rate=58.3,
        model_families=22, loans=60, award_level=3, hosted_events=2, late_reports=0, petitions=0),
    unit("xiling", "西岭村", "西片", "village",
        quality=4.5, households=1291, population=3508, floating_population=634,
        women_director="赵海燕", registers=REGISTERS, rosters=["妇女干部花名册", "留守妇女花名册", "困难妇女花名册"],
        meetings=4, trainings=2, trainees=60, cases_received=3, cases_closed=3, cases_marriage=2,
        cases_violence=1, cases_rights=0, fabricated=False, has_plate=True, station=STATION,
        room_area=Q("70 m^2", 70), books=890, computers=4, funds=7900, registered=610,
        address_matched=592, wrong_records=7, wrong_records_women=0, rentals=131,
        rental_registered=129, rental_contracts=True, migrant_activities=8, parent_school=True,
        lectures=2, satisfaction=94.2, visits=10, job_seekers=14, reemployed=6,
        stated_reemployment_rate=42.9, model_families=10, loans=0, award_level=1, hosted_events=0,
        late_reports=0, petitions=0),
    unit("mashan", "马山村", "西片", "village",
        quality=4.0, households=664, population=2123, floating_population=233,
        women_director="吴春梅", registers=REGISTERS, rosters=ROSTERS, meetings=4, trainings=2,
        trainees=46, cases_received=2, cases_closed=2, cases_marriage=1, cases_violence=0,
        cases_rights=1, fabricated=False, has_plate=True, station=STATION, room_area=140,
        books=1740, computers=3, funds=10000, registered=223, address_matched=194, wrong_records=5,
        wrong_records_women=1, rentals=58, rental_registered=58, rental_contracts=True,
        migrant_activities=2, parent_school=True, lectures=5, satisfaction=86.2, visits=5,
        job_seekers=36, reemployed=19, stated_reemployment_rate=52.8, model_families=22, loans=35,
        award_level=0, hosted_events=0, late_reports=0, petitions=0),
    unit("qingshi", "青石村", "西片", "village",
        quality=3.0, households=707, population=1926, floating_population=357,
        women_director="周建华", registers=["工作活动记录簿", "妇女培训登记簿", "各类表彰登记簿", "重点帮扶对象登记簿"],
        rosters=ROSTERS, meetings=4, trainings=6, trainees=160, cases_received=7, cases_closed=7,
        cases_marriage=4, cases_violence=1, cases_rights=1, fabricated=False, has_plate=False,
        station=["办公场所", "标牌", "公示栏"], room_area=60, books=1220, computers=0, funds=7400,
        registered=345, address_matched=312, wrong_records=1, wrong_records_women=0, rentals=84,
        rental_registered=84, rental_contracts=True, migrant_activities=8, parent_school=True,
        lectures=1, satisfaction=90.9, visits=6, job_seekers=69, reemployed=22,
        stated_reemployment_rate=31.9, model_families=7, loans=Q("35000 元", 3.5), award_level=1,
        hosted_events=0, late_reports=0, petitions=0),
    unit("longquan", "龙泉村", "西片", "village",
        quality=4.0, households=499, population=1502, floating_population=401,
        women_director="徐红梅", registers=REGISTERS, rosters=ROSTERS, meetings=3, trainings=3,
        trainees=84, cases_received=4, cases_closed=4, cases_marriage=3, cases_violence=2,
        cases_rights=1, fabricated=False, has_plate=True, station=STATION, room_area=150,
        books=1550, computers=4, funds=6000, registered=368, address_matched=356, wrong_records=1,
        wrong_records_women=0, rentals=103, rental_registered=103, rental_contracts=True,
        migrant_activities=6, parent_school=True, lectures=4, satisfaction=91.3, visits=11,
        job_seekers=56, reemployed=16, stated_reemployment_rate=28.6, model_families=11, loans=45,
        award_level=0, hosted_events=1, late_reports=0, petitions=0),
    unit("baisha", "白沙村", "西片", "village",
        quality=2.5, households=1759, population=5341, floating_population=271,
        women_director="孙晓燕", registers=["工作活动记录簿", "妇女培训登记簿", "各类表彰登记簿"],
        rosters=["妇女代表花名册", "留守妇女花名册", "困难妇女花名册"], meetings=4, trainings=3, trainees=75,
        cases_received=2, cases_closed=2, cases_marriage=1, cases_violence=0, cases_rights=1,
        fabricated=False, has_plate=False, station=["标牌", "公示栏", "来访登记簿"], room_area=105,
        books=790, computers=1, funds=8500, registered=241, address_matched=228, wrong_records=3,
        wrong_records_women=0, rentals=66, rental_registered=66, rental_contracts=True,
        migrant_activities=8, parent_school=True, lectures=1, satisfaction=88.9, visits=4,
        job_seekers=49, reemployed=18, stated_reemployment_rate=36.7, model_families=22, loans=0,
        award_level=1, hosted_events=0, late_reports=0, petitions=1),
    unit("jinpan", "金盘社区", "西片", "community",
        quality=4.0, households=1829, population=5446, floating_population=2705,
        women_director="马雪芳", registers=REGISTERS, rosters=ROSTERS, meetings=4, trainings=3,
        trainees=63, cases_received=5, cases_closed=5, cases_marriage=3, cases_violence=0,
        cases_rights=2, fabricated=False, has_plate=Q("有", "有"), station=["办公场所", "标牌", "公示栏"],
        room_area=150, books=1450, computers=1, funds=5500, registered=2401, address_matched=2284,
        wrong_records=5, wrong_records_women=3, rentals=626, rental_registered=626,
        rental_contracts=False, migrant_activities=1, parent_school=True, lectures=1,
        satisfaction=96.5, visits=5, job_seekers=50, reemployed=22, stated_reemployment_rate=44.0,
        model_families=20, loans=15, award_level=0, hosted_events=0, late_reports=1, petitions=0),
    unit("hetang", "荷塘村", "西片", "village",
        quality=4.5, households=1034, population=2848, floating_population=453,
        women_director="朱金凤", registers=REGISTERS, rosters=ROSTERS, meetings=6, trainings=5,
        trainees=85, cases_received=5, cases_closed=5, cases_marriage=3, cases_violence=1,
        cases_rights=0, fabricated=False, has_plate=True, station=STATION, room_area=115,
        books=730, computers=2, funds=4100, registered=429, address_matched=423, wrong_records=4,
        wrong_records_women=0, rentals=102, rental_registered=102, rental_contracts=True,
        migrant_activities=7, parent_school=Q("是", "是"), lectures=5, satisfaction=92.4, visits=8,
        job_seekers=70, reemployed=39, stated_reemployment_rate=55.7, model_families=22, loans=60,
        award_level=0, hosted_events=0, late_reports=0, petitions=0),
    unit("beishan", "北山村", "北片", "village",
        quality=4.5, households=410, population=1270, floating_population=37, women_director="胡素珍",
        registers=REGISTERS, rosters=ROSTERS, meetings=4, trainings=2, trainees=34,
        cases_received=7, cases_closed=6, cases_marriage=4, cases_violence=0, cases_rights=1,
        fabricated=False, has_plate=True, station=STATION, room_area=105, books=420, computers=1,
        funds=5600, registered=33, address_matched=32, wrong_records=4, wrong_records_women=2,
        rentals=10, rental_registered=10, rental_contracts=True, migrant_activities=3,
        parent_school=True, lectures=1, satisfaction=86.1, visits=3, job_seekers=68, reemployed=33,
        stated_reemployment_rate=49, model_families=16, loans=0, award_level=0, hosted_events=0,
        late_reports=0, petitions=0),
    unit("fenglin", "枫林村", "北片", "village",
        quality=4.5, households=652, population=2139, floating_population=112,
        women_director="郭月琴", registers=["工作活动记录簿", "妇女培训登记簿", "各类表彰登记簿", "群众来信来访登记簿"],
        rosters=ROSTERS, meetings=4, trainings=7, trainees=160, cases_received=1, cases_closed=0,
        cases_marriage=0, cases_violence=1, cases_rights=0, fabricated=False, has_plate=True,
        station=STATION, room_area=45, books=1540, computers=3, funds=3500, registered="近100",
        address_matched=91, wrong_records=1, wrong_records_women=0, rentals=30,
        rental_registered=30, rental_contracts=True, migrant_activities=8, parent_school=False,
        lectures=1, satisfaction=98.6, visits=9, job_seekers=51, reemployed=30,
        stated_reemployment_rate=58.8, model_families=24, loans=0, award_level=1, hosted_events=0,
        late_reports=2, petitions=0),
    unit("changan", "长安社区", "北片", "community",
        quality=3.5, households=2823, population=Q("4241 人", 4241), floating_population=4418,
        women_director="何亚琴", registers=REGISTERS, rosters=ROSTERS, meetings=4, trainings=3,
        trainees=48, cases_received=14, cases_closed=14, cases_marriage=11, cases_violence=1,
        cases_rights=2, fabricated=False, has_plate=True, station=STATION, room_area=45,
        books=1880, computers=2, funds=5900, registered=4200, address_matched=3950,
        wrong_records=5, wrong_records_women=0, rentals=1260, rental_registered=1260,
        rental_contracts=True, migrant_activities=4, parent_school=True, lectures=5,
        satisfaction=87.7, visits=4, job_seekers=28, reemployed=15, stated_reemployment_rate=53.6,
        model_families=5, loans=90, award_level=0, hosted_events=0, late_reports=2, petitions=0),
    unit("meiling", "梅岭村", "北片", "village",
        quality=4.5, households=1647, population=5129, floating_population=647,
        women_director="高慧敏", registers=REGISTERS, rosters=ROSTERS, meetings=2, trainings=2,
        trainees=60, cases_received=5, cases_closed=4, cases_marriage=3, cases_violence=1,
        cases_rights=1, fabricated=False, has_plate=False, station=STATION, room_area=40,
        books=1130, computers=0, funds=4400, registered=600, address_matched=510, wrong_records=4,
        wrong_records_women=1, rentals=191, rental_registered=191, rental_contracts=True,
        migrant_activities=1, parent_school=True, lectures=3, satisfaction=Q("92.5 %", 92.5),
        visits=4, job_seekers=34, reemployed=18, stated_reemployment_rate=52.9, model_families=11,
        loans=0, award_level=1, hosted_events=0, late_reports=2, petitions=0),
    unit("dawan", "大湾村", "北片", "village",
        quality=3.0, households=1670, population=4593, floating_population=286,
        women_director="林丽萍", registers=REGISTERS, rosters=ROSTERS, meetings=6, trainings=6,
        trainees=138, cases_received=9, cases_closed=9, cases_marriage=5, cases_violence=0,
        cases_rights=2, fabricated=True, has_plate=True, station=STATION, room_area=155,
        books=1930, computers=4, funds=11700, registered=269, address_matched=249, wrong_records=5,
        wrong_records_women=0, rentals=72, rental_registered=72, rental_contracts=True,
        migrant_activities=1, parent_school=True, lectures=2, satisfaction=86.1, visits=9,
        job_seekers=42, reemployed=24, stated_reemployment_rate=57.1, model_families=4, loans=0,
        award_level=1, hosted_events=0, late_reports=0, petitions=0),
    unit("yongfeng", "永丰村", "北片", "village",
        quality=4.0, households=1007, population=2865, floating_population=69,
        women_director="罗爱华", registers=REGISTERS, rosters=ROSTERS, meetings=4, trainings=5,
        trainees=120, cases_received=3, cases_closed=3, cases_marriage=2, cases_violence=0,
        cases_rights=0, fabricated=False, has_plate=True, station=STATION, room_area=80,
        books=1590, computers=0, funds=11400, registered=65, address_matched=58, wrong_records=7,
        wrong_records_women=0, rentals=15, rental_registered=15, rental_contracts=False,
        migrant_activities=4, parent_school=True, lectures=4, satisfaction=90.2, visits=7,
        job_seekers=21, reemployed=9, stated_reemployment_rate=42.9, model_families=5, loans=20,
        award_level=0, hosted_events=0, late_reports=0, petitions=0),
    unit("songwu", "松坞村", "北片", "village",
        quality=3.0, households=878, population=2499, floating_population=0, women_director="王小红",
        registers=REGISTERS, rosters=["妇女代表花名册", "留守妇女花名册", "困难妇女花名册"], meetings=6, trainings=5,
        trainees=140, cases_received=6, cases_closed=5, cases_marriage=4, cases_violence=0,
        cases_rights=0, fabricated=False, has_plate=True, station=["标牌", "公示栏", "来访登记簿"],
        room_area=55, books=1370, computers=1, funds=6100, registered=0, address_matched=0,
        wrong_records=0, wrong_records_women=0, rentals=0, rental_registered=0,
        rental_contracts=False, migrant_activities=0, parent_school=True, lectures=3,
        satisfaction=87.3, visits=11, job_seekers=40, reemployed=24, stated_reemployment_rate=60.0,
        model_families=13, loans=25, award_level=1, hosted_events=0, late_reports=0, petitions=0),
]
# fmt: on


# ------------------------------------------------------------------ writing
def toml_scalar(v: object) -> str:
    if isinstance(v, Q):
        v = v.toml
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_scalar(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r}")


def csv_cell(v: object) -> str:
    if isinstance(v, Q):
        v = v.csv
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (int, str)):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, list):
        return ";".join(v)
    raise TypeError(f"cannot write {v!r}")


def evidence_toml(u: dict) -> str:
    out = [
        f"# {u['name']} 2026年度妇联工作自查自评（由 examples/make_csv.py 生成）",
        "",
        "[unit]",
        f"id    = {toml_scalar(u['id'])}",
        f"name  = {toml_scalar(u['name'])}",
        f"group = {toml_scalar(u['group'])}",
        f"kind  = {toml_scalar(u['kind'])}",
        "",
        "[assessment]",
        'role     = "self"',
        f"assessor = {toml_scalar(u['id'])}",
        f"date     = {DATE}",
        "",
        "[values]",
    ]
    width = max(len(f) for f in FIELD_NAMES)
    for f in FIELD_NAMES:
        if f in u["values"]:
            out.append(f"{f.ljust(width)} = {toml_scalar(u['values'][f])}")
    if u["points"]:
        out += ["", "[points]"]
        for item in MANUAL:
            if item in u["points"]:
                out.append(f'"{item}" = {toml_scalar(u["points"][item])}')
    return "\n".join(out) + "\n"


def town_csv() -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["unit", "name", "group", "role", "assessor"]
        + [h for _, h in FIELDS]
        + [f"points:{m}" for m in MANUAL]
    )
    for u in UNITS:
        w.writerow(
            [u["id"], u["name"], u["group"], "self", u["id"]]
            + [csv_cell(u["values"].get(f)) for f in FIELD_NAMES]
            + [csv_cell(u["points"].get(m)) for m in MANUAL]
        )
    return buf.getvalue()


# Evidence that must be rejected (examples/town-errors/): each file is a copy of
# one good unit with exactly one fault, so the rejection message has one cause.
ERRORS = [
    # (file, unit id, name, copied from, field or manual item, bad value, what is wrong)
    (
        "negative-count.toml",
        "err-negative",
        "错误示例一村",
        "dongqiao",
        "floating_population",
        -891,
        "流动人口为负数 (negative count)",
    ),
    (
        "wrong-dimension.toml",
        "err-dimension",
        "错误示例二村",
        "mashan",
        "room_area",
        "140 kg",
        "面积写成了重量单位 (an area in kg: wrong dimension)",
    ),
    (
        "unparseable.toml",
        "err-number",
        "错误示例三村",
        "qingshi",
        "books",
        "abc",
        "图书册数无法识别 (not a number)",
    ),
    (
        "bad-step.toml",
        "err-step",
        "错误示例四村",
        "hetang",
        "archives.quality",
        3.25,
        "人工评分不是0.5的整数倍 (manual points not a multiple of step 0.5)",
    ),
]


def error_units() -> list[tuple[str, str, dict]]:
    out = []
    by_id = {u["id"]: u for u in UNITS}
    for fname, uid, name, base, key, bad, why in ERRORS:
        src = by_id[base]
        u = {
            "id": uid,
            "name": name,
            "group": src["group"],
            "kind": src["kind"],
            "values": dict(src["values"]),
            "points": dict(src["points"]),
        }
        if key in MANUAL:
            u["points"][key] = bad
        else:
            u["values"][key] = bad
        out.append((fname, why, u))
    return out


def outputs() -> dict[Path, str]:
    files = {TOWN / "evidence" / f"{u['id']}.toml": evidence_toml(u) for u in UNITS}
    files[TOWN / "town.csv"] = town_csv()
    for fname, why, u in error_units():
        text = evidence_toml(u)
        text = text.replace(
            "（由 examples/make_csv.py 生成）",
            f"（由 examples/make_csv.py 生成）\n# 应被拒绝 / must be rejected: {why}",
            1,
        )
        files[HERE / "town-errors" / fname] = text
    return files


# ------------------------------------------------------------------ self-check
def self_check(files: dict[Path, str]) -> None:
    """Read back what was written and make sure TOML and CSV say the same thing."""
    ids = [u["id"] for u in UNITS]
    assert len(ids) == len(set(ids)) == 21, "21 distinct units expected"
    for g in ("东片", "西片", "北片"):
        assert sum(u["group"] == g for u in UNITS) == 7, g
    rows = {r["unit"]: r for r in csv.DictReader(io.StringIO(files[TOWN / "town.csv"]))}
    for u in UNITS:
        doc = tomllib.loads(files[TOWN / "evidence" / f"{u['id']}.toml"])
        row = rows[u["id"]]
        assert doc["unit"]["id"] == row["unit"] and doc["unit"]["name"] == row["name"]
        assert doc["unit"]["group"] == row["group"] and str(doc["assessment"]["date"]) == DATE
        for f, header in FIELDS:
            v = u["values"].get(f)
            if v is None:
                assert f not in doc["values"] and row[header] == "", (u["id"], f)
                continue
            t, c = (v.toml, v.csv) if isinstance(v, Q) else (v, v)
            assert doc["values"][f] == t, (u["id"], f)
            assert row[header] == csv_cell(c), (u["id"], f)
        for m in MANUAL:
            p = u["points"].get(m)
            assert doc.get("points", {}).get(m) == p and row[f"points:{m}"] == csv_cell(p), (
                u["id"],
                m,
            )


def main(argv: list[str]) -> int:
    files = outputs()
    self_check(files)
    if "--check" in argv:
        stale = [
            str(p.relative_to(HERE))
            for p, text in files.items()
            if not p.exists() or p.read_text(encoding="utf-8") != text
        ]
        if stale:
            print(
                "out of date: " + ", ".join(stale) + " (run examples/make_csv.py)", file=sys.stderr
            )
            return 1
        print(f"ok: {len(files)} files up to date")
        return 0
    for p, text in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8", newline="\n")
    print(
        f"wrote {len(UNITS)} evidence files, town/town.csv and {len(ERRORS)} files in town-errors/"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
