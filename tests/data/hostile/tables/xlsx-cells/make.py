"""One workbook: merged 片区 cells, a formula with no saved value, inf and 1E400 in number cells."""

import io
import zipfile

import openpyxl

wb = openpyxl.Workbook()
ws = wb.active
ws.append(["unit", "name", "group", "meetings"])
ws.append(["dongqiao", "东桥村", "东片", 2])
ws.append(["shiqiao", "石桥村", None, 424241])
ws.append(["taoyuan", "桃园村", None, 424242])
ws.append(["liutang", "柳塘村", None, "=1+3"])
ws.append(["meiling", "美岭村", "西片", 4])
ws.merge_cells("C2:C5")
buf = io.BytesIO()
wb.save(buf)
src = zipfile.ZipFile(buf)
with zipfile.ZipFile("town.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
    for info in src.infolist():
        data = src.read(info.filename).decode("utf-8")
        if info.filename == "xl/worksheets/sheet1.xml":
            data = data.replace("<v>424241</v>", "<v>inf</v>").replace(
                "<v>424242</v>", "<v>1E400</v>"
            )
        z.writestr(info.filename, data)
