"""Write the example spreadsheets: the messy input crmcli import / clean are built for.

    .venv/bin/python examples/make_examples.py

Deterministic: the same bytes on every run (fixed document timestamps and zip entry times), so
the outputs can be committed and diffed. Every person, company, phone and ID number is made up;
phones are in ranges `phonenumbers` accepts (and checked below), ID and card numbers carry valid
checksums so the refusal paths are really exercised.

Not included: a formula cell. openpyxl writes formulas without a cached value, so any reader
(ours reads cached values, data_only) would see an empty cell; only Excel/LibreOffice can save one.
"""

# ruff: noqa: E501  (the data tables below read best one record a line)
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl  # noqa: TID251 (a dev script, not the crmcli package)
import phonenumbers
from openpyxl.styles import Alignment, Font  # noqa: TID251
from openpyxl.utils import get_column_letter  # noqa: TID251

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2025, 1, 6, 9, 0, 0)
NBSP = "\u00a0"


def cn_id(area: str, birth: str, seq: str) -> str:
    """An 18-digit PRC resident ID with a valid ISO 7064 MOD 11-2 check digit (fake person)."""
    body = area + birth + seq
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


def luhn(prefix: str) -> str:
    """`prefix` plus the Luhn check digit (a bank-card-shaped number)."""
    digits = [int(d) for d in prefix][::-1]
    total = sum(d if i % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
    return prefix + str((10 - total % 10) % 10)


def serial(day: dt.date) -> int:
    """The Excel serial number of a date (what a cell shows when its date format is lost)."""
    return (day - dt.date(1899, 12, 30)).days


BANK_CARD = luhn("622202100112345678")  # 19 digits, typed into 备注 by mistake: must be refused

CN_HEADERS = [
    "客户编号", "客户名称", "客户类型", "联系电话", "手机", "邮箱", "公司", "首次接触时间",
    "客户来源", "行业", "性别", "需求描述", "预算范围", "客户状态", "客户等级", "标签", "城市",
    "身份证号", "备注",
]  # fmt: skip
# Phones: floats (what Excel stores for a number typed into a General cell), text in many
# formats, full-width digits, NBSP, two numbers in one cell. Dates: real dates, serials, text.
CN_ROWS: list[list[object]] = [
    ["KH0001", "张伟", "个人", "010-58123456", 13812345678.0, "zhangwei@example.com", "深圳某某科技有限公司", dt.date(2024, 3, 5), "展会", "软件", "男", "CRM 系统选型", "5-10万", "潜在客户", "A", "展会,重点", "深圳", cn_id("110105", "19850312", "123"), "春季展会认识"],
    ["KH0002", "李娜", "个人", "", "+86 139-1234-5678", "li.na@example.cn", "上海某某贸易有限公司", serial(dt.date(2024, 3, 18)), "转介绍", "贸易", "女", "年度采购", "10-20万", "意向客户", "B", "老客户介绍", "上海", cn_id("310104", "19900718", "246"), ""],
    ["KH0003", "王芳", "个人", "021-64123457", "13612345679", "wangfang@example.com", "某某物流", "2024/5/20", "官网", "物流", "女", "运输管理", "", "意向", "B", "", "上海", "", "官网留言"],
    ["KH0004", "刘洋" + NBSP, "个人", "", 15012345670.0, "LIU.YANG@EXAMPLE.COM ", "广州某某餐饮管理有限公司", "2024年5月20日", "电话陌拜", "餐饮", "男", "门店会员管理", "3万以内", "潜在客户", "C", "餐饮", "广州", "", ""],
    ["KH0005", "陈静", "个人", "0755-88881234", "0086 137 1234 5670", "chenjing@example.com", "深圳某某电子有限公司", "20240520", "展会", "电子", "女", "", "20万以上", "成交客户", "A", "VIP,展会", "深圳", cn_id("440305", "19880101", "162"), "已签约"],
    ["KH0006", "深圳某某科技有限公司", "企业", "0755-86001234", "", "info@moumou-tech.example.com", "", dt.date(2024, 2, 1), "官网", "软件", "", "定制开发", "50万以上", "成交客户", "A", "企业客户", "深圳", "", "年框客户"],
    ["KH0007", "某某公司", "企业", "(0755) 8600 1234", "", "INFO@moumou-tech.example.com", "", serial(dt.date(2024, 2, 1)), "官网", "软件", "", "", "", "成交客户", "A", "", "深圳", "", "同上,简称"],
    ["KH0008", "張偉", "个人", "", "+86 138 1234 5678", "", "深圳某某科技", "2024-03-05", "展会", "软件", "男", "CRM 选型", "5-10万", "潜在客户", "A", "展会", "深圳", "", "繁体录入,疑似重复"],
    ["KH0009", "赵磊", "个人", "", "１３９１２３４５６７０", "zhaolei@example.net", "北京某某咨询有限公司", dt.date(2024, 6, 12), "转介绍", "咨询", "男", "培训", "5-10万", "意向客户", "B", "", "北京", "", "手机号是全角数字"],
    ["KH0010", "孙丽", "个人", "010-58123457", "138" + NBSP + "1234" + NBSP + "5671", "sunli@example.com", "北京某某教育科技有限公司", "2024/6/1", "抖音", "教育", "女", "招生管理", "10-20万", "潜在客户", "B", "线上", "北京", "", ""],
    ["KH0011", "周杰", "个人", "", "13812345672/010-58123458", "zhoujie@example.com", "北京某某建筑工程有限公司", serial(dt.date(2024, 7, 8)), "电话陌拜", "建筑", "男", "项目管理", "", "流失客户", "C", "", "北京", "", "两个号码在一个格子里"],
    ["KH0012", "吴敏", "个人", "", 18612345673.0, "wumin@example.com", "杭州某某电商有限公司", dt.date(2024, 7, 15), "展会", "电商", "女", "客服系统", "5-10万", "意向客户", "A", "电商,展会", "杭州", "", ""],
    ["KH0013", "郑强", "个人", "0571-87001234", "", "zhengqiang@example.com", "杭州某某电商有限公司", "2024年7月16日", "转介绍", "电商", "男", "", "", "潜在客户", "B", "", "杭州", "", ""],
    ["KH0014", "黄磊", "个人", "", "+86-189-1234-5674", "huanglei@example.com", "成都某某餐饮连锁", "2024/8/2", "官网", "餐饮", "男", "会员营销", "3万以内", "潜在客户", "C", "", "成都", "", "客户要求开票,银行卡号 " + BANK_CARD],
    ["KH0015", "", "", "", 13712345675.0, "noname@example.com", "", dt.date(2024, 8, 9), "展会", "", "", "", "", "潜在客户", "", "", "", "", "展会扫码,没留姓名"],
    ["KH0016", "林芳", "个人", "", "177 1234 5676", "linfang@example.com", "厦门某某旅游有限公司", serial(dt.date(2024, 8, 20)), "小红书", "旅游", "女", "线上获客", "", "意向客户", "B", "线上", "厦门", "", ""],
    ["KH0017", "何军", "个人", "020-38001234", "13512345677", "hejun@example.com", "广州某某汽车服务有限公司", "20240901", "电话陌拜", "汽车", "男", "", "10-20万", "成交客户", "A", "", "广州", "", "已回款"],
    ["KH0018", "马超", "个人", "", "13912345678", "machao@example.com", "西安某某软件有限公司", dt.date(2024, 9, 10), "转介绍", "软件", "男", "数据分析", "20万以上", "意向客户", "A", "大客户", "西安", "", ""],
    ["KH0019", "罗琳", "个人", "", "158-1234-5679", "luolin@example.com", "重庆某某火锅有限公司", "2024/9/18", "抖音", "餐饮", "女", "", "3万以内", "潜在客户", "C", "", "重庆", "", ""],
    ["KH0020", "高峰", "个人", "010 5812 3459", "", "gaofeng@example.com", "北京某某律师事务所", dt.date(2024, 10, 8), "官网", "法律", "男", "案件管理", "5-10万", "意向客户", "B", "", "北京", "", ""],
    ["KH0021", "徐静", "个人", "", 15112345670.0, "xujing@example.com", "南京某某医疗器械有限公司", serial(dt.date(2024, 10, 21)), "展会", "医疗", "女", "", "", "成交客户", "A", "医疗", "南京", "", ""],
    ["KH0022", "朱红", "个人", "", "+8613612345671", "zhuhong@example.com", "武汉某某光电有限公司", "2024年11月3日", "转介绍", "制造", "女", "", "", "潜在客户", "B", "", "武汉", "", ""],
    ["KH0023", "胡斌", "个人", "", "150 1234 5672", "hubin@example.com", "苏州某某精密机械有限公司", "2024/11/15", "电话陌拜", "制造", "男", "ERP 对接", "20万以上", "意向客户", "A", "", "苏州", "", ""],
    ["KH0024", "郭敏", "个人", "", 13712345673.0, "guomin@example.com", "青岛某某海产品有限公司", dt.date(2024, 12, 2), "官网", "食品", "女", "", "", "流失客户", "C", "", "青岛", "", "预算不足"],
    ["KH0025", "李娜", "个人", "", "139 1234 5678", "lina.sh@example.com", "上海某某贸易", "2024/12/12", "转介绍", "贸易", "女", "", "", "意向", "B", "", "上海", "", "同名,手机相同"],
]  # fmt: skip
CN_INTERACTION_HEADERS = ["客户编号", "跟进时间", "跟进方式", "跟进内容", "下次跟进"]
CN_INTERACTIONS: list[list[object]] = [
    ["KH0001", dt.datetime(2024, 3, 6, 10, 30), "电话", "介绍产品,约下周演示", dt.date(2024, 3, 13)],
    ["KH0001", dt.datetime(2024, 3, 13, 14, 0), "拜访", "现场演示,对报表感兴趣", dt.date(2024, 3, 27)],
    ["KH0002", dt.datetime(2024, 3, 19, 9, 15), "微信", "发了报价单", dt.date(2024, 3, 26)],
    ["KH0003", "2024/5/21 15:00", "电话", "未接通", "2024/5/22"],
    ["KH0003", "2024/5/22 11:00", "电话", "确认需求,要方案", "2024/6/1"],
    ["KH0005", dt.datetime(2024, 5, 21, 16, 45), "拜访", "签约", None],
    ["KH0006", dt.datetime(2024, 2, 2, 10, 0), "邮件", "发送合同", dt.date(2024, 2, 9)],
    ["KH0006", dt.datetime(2024, 2, 9, 10, 0), "会议", "合同评审通过", None],
    ["KH0009", dt.datetime(2024, 6, 13, 13, 30), "电话", "约培训时间", dt.date(2024, 6, 20)],
    ["KH0011", dt.datetime(2024, 7, 9, 9, 0), "电话", "客户已选竞品", None],
    ["KH0012", dt.datetime(2024, 7, 16, 11, 0), "微信", "发资料", dt.date(2024, 7, 23)],
    ["KH0014", dt.datetime(2024, 8, 3, 15, 30), "电话", "询问开票信息", dt.date(2024, 8, 10)],
    ["KH0017", dt.datetime(2024, 9, 2, 10, 0), "拜访", "回款确认", None],
    ["KH0018", dt.datetime(2024, 9, 11, 14, 0), "会议", "需求调研", dt.date(2024, 9, 25)],
    ["KH0023", dt.datetime(2024, 11, 16, 10, 30), "电话", "ERP 接口讨论", dt.date(2024, 11, 30)],
]  # fmt: skip

EN_HEADERS = [
    "Customer ID", "Full Name", "Company", "Phone", "Mobile", "Email", "Status", "Grade", "Source",
    "City", "Tags", "First contact", "Notes",
]  # fmt: skip
EN_ROWS: list[list[object]] = [
    ["C-1001", "Robert Smith", "Acme Inc.", "(415) 555-0134", "", "robert.smith@acme.example.com", "Lead", "A", "Trade show", "San Francisco", "trade-show, hot", dt.date(2024, 5, 20), "Met at booth 12"],
    ["C-1002", "Bob Smith", "ACME Incorporated", "+1 415 555 0134", "", "bob@acme.example.com", "prospect", "A", "trade show", "San Francisco", "Trade-Show", "5/20/2024", "Same person as C-1001?"],
    ["C-1003", "Jennifer Lee", "Northwind Traders", "212-555-0199", "646.555.0177", "jlee@northwind.example.com", "Customer", "B", "Referral", "New York", "", serial(dt.date(2024, 4, 2)), ""],
    ["C-1004", "Michael O'Brien", "Contoso Ltd", "+44 20 7946 0018", "", "m.obrien@contoso.example.co.uk", "Lead", "B", "Website", "London", "uk", "2024-06-11", ""],
    ["C-1005", "Sarah Johnson", "Fabrikam, Inc.", "617 555 0123", "", "SARAH.JOHNSON@FABRIKAM.EXAMPLE.COM", "Prospect", "A", "Cold call", "Boston", "enterprise", "6/3/2024", "Wants a demo in Q3"],
    ["C-1006", "Wei Zhang", "Shenzhen Moumou Technology Co., Ltd.", "", 13812345678.0, "zhangwei@example.com", "Lead", "A", "Trade show", "Shenzhen", "china", dt.date(2024, 3, 5), "Same phone as 张伟 in the Chinese sheet"],
    ["C-1007", "Emily Davis", "Tailspin Toys", "(646) 555-0142", "", "emily.davis@tailspin.example.com", "Lost", "C", "Website", "New York", "", "2024-02-29", "Chose a competitor"],
    ["C-1008", "David Miller", "Woodgrove Bank", "+1-212-555-0111", "", "dmiller@woodgrove.example.com", "Customer", "A", "Referral", "New York", "finance, vip", serial(dt.date(2024, 1, 15)), ""],
    ["C-1009", "Laura Chen", "Litware", "415.555.0172", "", "laura.chen@litware.example.com", "prospect", "B", "LinkedIn", "Oakland", "", "7/1/2024", ""],
    ["C-1010", "James Wilson", "Adventure Works", "020 7946 0123", "", "j.wilson@adventure-works.example.co.uk", "Lead", "C", "Website", "London", "uk", "2024-07-19", ""],
    ["C-1011", "", "Blue Yonder Airlines", "617-555-0188", "", "info@blueyonder.example.com", "Lead", "", "Trade show", "Boston", "", "2024-08-05", "Badge scan, no name"],
    ["C-1012", "Olivia Brown", "Proseware", "(212) 555-0163", "", "olivia@proseware.example.com", "Customer", "B", "Referral", "New York", "", dt.date(2024, 8, 14), "Card on file 4111 1111 1111 1111"],
    ["C-1013", "Daniel Garcia", "Wide World Importers", "+1 (617) 555-0155", "", "dgarcia@wwi.example.com", "Prospect", "B", "Cold call", "Cambridge", "", "8/27/2024", ""],
    ["C-1014", "Sophie Martin", "Coho Winery", "+44 7400 123456", "", "sophie@coho.example.co.uk", "Lead", "C", "Website", "Bristol", "uk, wine", "2024-09-09", ""],
    ["C-1015", "Li Na", "Shanghai Moumou Trading", "", "+86 139-1234-5678", "li.na@example.cn", "Prospect", "B", "Referral", "Shanghai", "china", serial(dt.date(2024, 3, 18)), ""],
    ["C-1016", "Chris Taylor", "Alpine Ski House", "646-555-0190", "", "chris@alpineski.example.com", "Customer", "A", "Trade show", "New York", "", "10/2/2024", ""],
    ["C-1017", "Robert  Smith", "Acme, Inc", "415-555-0134", "", "Robert.Smith@acme.example.com ", "Customer", "A", "Trade Show", "San Francisco", "", "2024-10-15", "Third copy of Robert Smith"],
    ["C-1018", "Hannah Kim", "Graphic Design Institute", "(415) 555-0181", "", "hkim@gdi.example.com", "Lead", "B", "LinkedIn", "San Francisco", "design", "11/4/2024", ""],
    ["C-1019", "Wang Fang", "Moumou Logistics", "", "+86 136 1234 5679", "wangfang@example.com", "prospect", "B", "Website", "Shanghai", "china", "2024-05-20", ""],
    ["C-1020", "Peter Novak", "Margie's Travel", "212 555 0128", "", "peter.novak@margiestravel.example.com", "Lead", "C", "Cold call", "New York", "", dt.date(2024, 12, 9), ""],
]  # fmt: skip


def check_phones() -> None:
    """Every phone in the examples must be valid, or the import tests would test the wrong thing."""
    checks = [(CN_ROWS, (3, 4), "CN"), (EN_ROWS, (3, 4), "US")]
    for rows, columns, region in checks:
        for row in rows:
            for col in columns:
                cell = row[col]
                if cell in ("", None):
                    continue
                text = str(int(cell)) if isinstance(cell, float) else str(cell)
                for part in re.split(r"[/,;]", text):
                    # A bare Chinese mobile in the English sheet is valid for CN, not US.
                    ok = any(
                        phonenumbers.is_valid_number(phonenumbers.parse(part, r))
                        for r in (region, "CN")
                    )
                    assert ok, (row[0], part)


def autosize(ws: object, rows: list[list[object]], headers: list[str]) -> None:
    for i, header in enumerate(headers, start=1):
        texts = [str(header)] + [str(r[i - 1]) for r in rows if r[i - 1] not in ("", None)]
        width = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in t) for t in texts)
        ws.column_dimensions[get_column_letter(i)].width = min(width + 2, 40)  # type: ignore[attr-defined]


def build_sheet(wb: openpyxl.Workbook, title: str, heading: str, headers: list[str],
                rows: list[list[object]], index: int) -> None:  # fmt: skip
    ws = wb.create_sheet(title, index)
    # A title row merged across the table and a blank row: the header is on row 3.
    ws.cell(row=1, column=1, value=heading).font = Font(bold=True, size=14)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    for col, header in enumerate(headers, start=1):
        ws.cell(row=3, column=col, value=header).font = Font(bold=True)
    for r, row in enumerate(rows, start=4):
        for col, value in enumerate(row, start=1):
            if value in ("", None):
                continue
            cell = ws.cell(row=r, column=col, value=value)
            if isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy/m/d"
    # A blank row in the middle of the data, as real sheets have.
    ws.insert_rows(4 + len(rows) // 2)
    autosize(ws, rows, headers)


def save_deterministic(wb: openpyxl.Workbook, path: Path) -> None:
    """Save, then rewrite the zip with fixed entry times and document timestamps."""
    wb.properties.creator = "crmcli examples"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    wb.save(buffer)
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data
                )
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)
    path.write_bytes(out.getvalue())


def csv_cell(value: object) -> str:
    """What Excel (US locale) puts in a CSV: dates as M/D/YYYY, floats without ".0"."""
    if isinstance(value, dt.date):
        return f"{value.month}/{value.day}/{value.year}"
    if isinstance(value, float):
        return f"{value:.0f}"
    return "" if value is None else str(value)


def main() -> None:
    check_phones()
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    build_sheet(wb, "客户", "客户信息登记表 2025", CN_HEADERS, CN_ROWS, 0)
    build_sheet(wb, "跟进记录", "跟进记录", CN_INTERACTION_HEADERS, CN_INTERACTIONS, 1)
    save_deterministic(wb, HERE / "客户信息登记表.xlsx")

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    build_sheet(wb, "Customers", "Customer list 2025", EN_HEADERS, EN_ROWS, 0)
    save_deterministic(wb, HERE / "customers-en.xlsx")

    # The CSV a colleague exported from Excel: BOM, CRLF, the title row and blank row as rows of
    # commas, and one mobile that Excel displayed as 1.38123E+10 before it was saved as text.
    rows = [[csv_cell(v) for v in row] for row in EN_ROWS]
    rows[5][4] = "1.38123E+10"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Customer list 2025"] + [""] * (len(EN_HEADERS) - 1))
    writer.writerow([""] * len(EN_HEADERS))
    writer.writerow(EN_HEADERS)
    writer.writerows(rows)
    writer.writerow([""] * len(EN_HEADERS))
    (HERE / "customers-en.csv").write_bytes(out.getvalue().encode("utf-8-sig"))


if __name__ == "__main__":
    main()
