"""Spreadsheet column headers: the synonym table and the mapping of a header row to record fields.

Split out of `crmcli/sheets.py` (which re-exports everything here) because the table is data that
grows with every messy workbook we meet, while the reader/writer code does not. Pure functions,
no I/O: `map_headers` turns the text of a header row into a `HeaderMap`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crmcli.errors import UsageError
from crmcli.fields import RECORD_FIELDS

# The record's fields a sheet can set: all but the id and the timestamps crmcli manages.
FIELDS: tuple[str, ...] = tuple(
    f for f in RECORD_FIELDS if f not in ("id", "archived_at", "created_at", "updated_at")
)
INTERACTION_FIELDS: tuple[str, ...] = (
    "customer",
    "at",
    "channel",
    "summary",
    "outcome",
    "next_follow_up_on",
)
# Fields that several columns may feed (mobile + landline, two email columns...); every other
# field takes the first column that maps to it and reports the rest as unmapped.
MULTI_FIELDS = frozenset({"phones", "emails", "tags", "notes"})
IGNORE = "ignore"

# Columns that hold identifiers we must never store. Chinese patterns match anywhere in the
# header ("法人身份证号码"); English ones match the whole normalised header ("ID number", not
# "Customer ID").
REFUSED_HEADERS: tuple[str, ...] = (
    "身份证号",
    "身份证",
    "身份证号码",
    "证件号码",
    "银行卡号",
    "银行账号",
    "卡号",
    "ID card",
    "ID number",
    "national id",
    "SSN",
    "social security",
    "bank card",
    "card number",
    "IBAN",
    "account number",
)
_REFUSED_CONTAINS = ("身份证", "证件号", "银行卡", "银行账", "卡号")
_REFUSED_EXACT = frozenset(
    {
        "idcard",
        "idcardno",
        "idcardnumber",
        "idnumber",
        "idno",
        "nationalid",
        "nationalidnumber",
        "ssn",
        "socialsecurity",
        "socialsecuritynumber",
        "socialsecurityno",
        "bankcard",
        "bankcardnumber",
        "bankcardno",
        "cardnumber",
        "cardno",
        "creditcard",
        "creditcardnumber",
        "iban",
        "accountnumber",
        "accountno",
        "bankaccount",
        "bankaccountnumber",
        "passport",
        "passportnumber",
        "passportno",
    }
)

# Header text -> field. Keys are written readably and normalised when the table is built.
# "company_name" is a placeholder: 公司名称 is the customer's name on a company sheet, but the
# employer when the sheet also has a person's name column (resolved in map_headers).
_CUSTOMER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "客户编号", "编号", "客户ID", "客户号", "客户代码", "客户编码",
        "Customer ID", "Customer No", "Customer Number", "Customer Code", "ID", "External ID",
    ),
    "name": (
        "姓名", "名字", "客户名称", "客户姓名", "客户名", "客户", "联系人", "联系人姓名", "名称",
        "Name", "Full Name", "Customer", "Customer Name", "Contact", "Contact Name", "Client",
        "Client Name",
    ),
    "company_name": ("企业名称", "公司名称", "单位名称", "Company Name", "Organization Name"),
    "phones": (
        "手机", "手机号", "手机号码", "电话", "联系电话", "固定电话", "座机", "联系方式",
        "电话号码", "移动电话", "办公电话", "Mobile", "Mobile Phone", "Phone", "Phone Number",
        "Tel", "Telephone", "Cell", "Cell Phone", "Work Phone", "Home Phone", "Landline",
    ),
    "emails": (
        "邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址", "Email", "E-mail", "Mail",
        "Email Address", "Emails",
    ),
    "company": (
        "公司", "单位", "工作单位", "所在公司", "所属公司", "Company", "Organization",
        "Organisation", "Employer", "Account",
    ),
    "kind": ("客户类型", "类型", "客户性质", "Type", "Kind", "Customer Type"),
    "first_contact_on": (
        "首次接触时间", "首次接触", "首次接触日期", "首次联系", "首次联系时间", "首次联系日期",
        "创建时间", "登记时间", "登记日期", "First contact", "First contacted", "First contact on",
        "Created", "Created at", "Created on", "Date added",
    ),
    "source": ("客户来源", "来源", "渠道", "Source", "Lead source", "Channel"),
    "industry": ("行业", "所属行业", "Industry"),
    "gender": ("性别", "Gender", "Sex"),
    "needs": ("需求描述", "需求", "客户需求", "Needs", "Requirements", "Requirement"),
    "budget": ("预算范围", "预算", "Budget"),
    "status": ("客户状态", "状态", "跟进状态", "Status", "Stage", "Lead status"),
    "grade": ("客户等级", "客户级别", "等级", "级别", "Grade", "Rating", "Tier", "Priority"),
    "tags": ("标签", "Tags", "Tag", "Labels", "Label"),
    "city": ("城市", "地区", "所在地", "所在城市", "区域", "City", "Region", "Location"),
    "notes": (
        "备注", "说明", "备注说明", "Notes", "Note", "Remarks", "Remark", "Comment", "Comments",
    ),
    "next_follow_up_on": (
        "下次跟进", "下次跟进时间", "下次跟进日期", "下次联系", "下次联系时间",
        "Next follow-up", "Next follow up", "Next follow-up on", "Next", "Follow-up", "Follow up",
    ),
    "last_contacted_at": (
        "最后联系时间", "最近联系", "最近联系时间", "最后跟进时间", "最近跟进", "Last contact",
        "Last contacted", "Last contacted at",
    ),
}  # fmt: skip
_INTERACTION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer": (
        "客户", "客户编号", "客户名称", "客户姓名", "姓名", "客户ID", "Customer", "Customer ID",
        "Customer Name", "Name", "Contact",
    ),
    "at": (
        "日期", "时间", "跟进时间", "跟进日期", "联系时间", "Date", "When", "Time", "Date time",
        "At",
    ),
    "channel": ("方式", "渠道", "跟进方式", "联系方式", "类型", "Channel", "Type", "Method"),
    "summary": (
        "内容", "跟进内容", "摘要", "记录", "跟进记录", "沟通内容", "备注", "Summary", "Notes",
        "Note", "Description", "Details",
    ),
    "outcome": ("结果", "跟进结果", "Outcome", "Result"),
    "next_follow_up_on": (
        "下次跟进", "下次跟进时间", "下次跟进日期", "Next", "Next follow-up", "Next follow up",
    ),
}  # fmt: skip

# "(必填)", "（选填）", "(元)", "[万元]": annotations after the header word carry no meaning here.
_ANNOTATION_RE = re.compile(r"[(\[【][^)\]】]*[)\]】]")
# Everything that is not a letter or digit: spaces, "*", "：", "-", "_", ".", "/", "#".
_PUNCT_RE = re.compile(r"[\W_]+")
_ROW_COUNTERS = frozenset({"序号", "行号", "no", "#", "sn", "rowno"})


def normalize_header(text: str) -> str:
    """The comparison key of a header: NFKC, case-folded, annotations and punctuation removed."""
    s = unicodedata.normalize("NFKC", text).casefold()
    stripped = _ANNOTATION_RE.sub("", s)
    key = _PUNCT_RE.sub("", stripped)
    # A header that is nothing but an annotation ("(备注)") keeps its words.
    return key or _PUNCT_RE.sub("", s)


def _build(table: Mapping[str, Sequence[str]], fields: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {normalize_header(f): f for f in fields}  # exports re-import as-is
    for target, words in table.items():
        for word in words:
            out[normalize_header(word)] = target
    return out


_CUSTOMER_TABLE = _build(_CUSTOMER_SYNONYMS, FIELDS)
_INTERACTION_TABLE = _build(_INTERACTION_SYNONYMS, INTERACTION_FIELDS)


def is_refused_header(text: str) -> bool:
    """True for a column that holds national IDs, bank cards, IBANs or SSNs."""
    key = normalize_header(text)
    return key in _REFUSED_EXACT or any(p in key for p in _REFUSED_CONTAINS)


@dataclass
class HeaderMap:
    """How the columns of one header row feed record fields."""

    fields: dict[int, str]
    unmapped: list[tuple[int, str]]
    refused: list[tuple[int, str]]
    # Override keys that matched no header (a typo the caller may want to report).
    unused_overrides: list[str] = field(default_factory=list)

    def columns_for(self, name: str) -> list[int]:
        return [i for i, f in self.fields.items() if f == name]


def _fields_for(kind: str) -> tuple[tuple[str, ...], dict[str, str]]:
    if kind == "customers":
        return FIELDS, _CUSTOMER_TABLE
    if kind == "interactions":
        return INTERACTION_FIELDS, _INTERACTION_TABLE
    raise ValueError(f"unknown sheet kind {kind!r}")


def map_headers(
    headers: Sequence[str | None],
    overrides: Mapping[str, str] | None = None,
    kind: str = "customers",
) -> HeaderMap:
    """Map header texts (one per column, "" or None for blank) to record fields.

    `overrides` ({"列名": "field"}, matched like the headers, case/space-insensitive) win over the
    table and over the refused list, since the person said so; "ignore" drops a column. Refused
    *values* are still caught downstream on every write path.
    """
    fields, table = _fields_for(kind)
    wanted: dict[str, str] = {}
    for column, target in (overrides or {}).items():
        if target != IGNORE and target not in fields:
            raise UsageError(
                f"unknown field {target!r} for column {column!r}; "
                f"use one of: {', '.join(fields)}, {IGNORE}"
            )
        wanted[normalize_header(column)] = target
    used: set[str] = set()

    result = HeaderMap(fields={}, unmapped=[], refused=[])
    pending: list[tuple[int, str, str]] = []  # (index, header, candidate field)
    for index, raw in enumerate(headers):
        text = (raw or "").strip()
        if not text:
            continue
        key = normalize_header(text)
        if key in wanted:
            used.add(key)
            if wanted[key] != IGNORE:
                pending.append((index, text, wanted[key]))
            continue
        if is_refused_header(text):
            result.refused.append((index, text))
        elif key in _ROW_COUNTERS or key not in table:
            result.unmapped.append((index, text))
        else:
            pending.append((index, text, table[key]))

    has_person_name = any(f == "name" for _, _, f in pending)
    taken: set[str] = set()
    for index, text, target in pending:
        if target == "company_name":
            target = "company" if has_person_name else "name"
        if target in taken and target not in MULTI_FIELDS:
            result.unmapped.append((index, text))  # a second 姓名 column: reported, not guessed
            continue
        taken.add(target)
        result.fields[index] = target
    result.unmapped.sort()
    result.unused_overrides = [c for c in (overrides or {}) if normalize_header(c) not in used]
    return result


def looks_like_interactions(headers: Sequence[str | None]) -> bool:
    """True for a sheet of follow-up records rather than customers (e.g. a 跟进记录 sheet)."""
    as_interactions = map_headers(headers, kind="interactions")
    mapped = set(as_interactions.fields.values())
    if "customer" not in mapped or not mapped & {"at", "summary"}:
        return False
    return len(as_interactions.fields) > len(map_headers(headers).fields)


def header_score(headers: Sequence[str | None], kind: str = "customers") -> int:
    """How much a row looks like this kind's header row; 0 when it cannot be one.

    It needs at least two recognised columns and one that identifies the record (a name,
    company or customer number; for interactions the customer), so a title row or a data row
    that happens to contain "A" never wins.
    """
    hm = map_headers(headers, kind=kind)
    mapped = set(hm.fields.values())
    anchors = {"customer"} if kind == "interactions" else {"name", "company", "external_id"}
    score = len(hm.fields) + len(hm.refused)
    if score < 2 or not mapped & anchors:
        return 0
    return score
