"""A shared-strings bomb: a small file whose strings unpack to more than a workbook may hold."""

import io
import zipfile

import openpyxl

wb = openpyxl.Workbook()
wb.active.append(["unit", "meetings"])
wb.active.append(["bomb", 1])
buf = io.BytesIO()
wb.save(buf)
with open("bomb.xlsx", "wb") as f:
    f.write(buf.getvalue())
with (
    zipfile.ZipFile("bomb.xlsx", "a", zipfile.ZIP_DEFLATED) as z,
    z.open("xl/sharedStrings.xml", "w") as s,
):
    chunk = b"<si><t>" + b"a" * 65536 + b"</t></si>"
    for _ in range(128 * 2**20 // len(chunk) + 2):
        s.write(chunk)
