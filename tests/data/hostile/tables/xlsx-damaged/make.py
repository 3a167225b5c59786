"""Three damaged workbooks: bad sheet XML, no worksheet, a shared string that is not there."""

import io
import zipfile

import openpyxl


def book(name: str, patch: dict[str, object]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["unit", "name", "group", "meetings"])
    ws.append(["dongqiao", "东桥村", "东片", 2])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(buf)
    with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename).decode("utf-8")
            change = patch.get(info.filename)
            if callable(change):
                data = change(data)
            elif isinstance(change, str):
                data = change
            z.writestr(info.filename, data)


SHEET = "xl/worksheets/sheet1.xml"
book("damaged.xlsx", {SHEET: lambda x: x.replace("</sheetData>", "<row </sheetData>")})
book(
    "nosheet.xlsx",
    {
        "xl/workbook.xml": '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<sheets/></workbook>"
    },
)
book(
    "badstring.xlsx",
    {
        SHEET: lambda x: x.replace(
            '<c r="A2" t="inlineStr"><is><t>dongqiao</t></is></c>', '<c r="A2" t="s"><v>7</v></c>'
        )
    },
)
