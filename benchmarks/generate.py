"""Deterministic generator of realistic customers for the crmcli benchmarks.

Usable as a library::

    from generate import generate            # from benchmarks/, or benchmarks.generate
    for record in generate(100_000, seed=1, dupes=0.15):
        ...

and as a script::

    python benchmarks/generate.py --customers 100000 --seed 1 --out /tmp/crm \\
        --format jsonl --format xlsx --dupes 0.15 --check

``--customers N`` is the exact number of *records* (rows) written. With ``--dupes F`` a fraction F
of the entities get 1–3 extra records carrying realistic damage (typos, traditional characters,
homophones, romanised or re-ordered names, nicknames, phones in other formats or as Excel floats,
company suffix variants, missing fields). Hard negatives (family members sharing a landline,
colleagues sharing an office number, many distinct people called 王伟) are separate entities.
Every record carries the truth: ``entity_id``, ``damage`` and ``hard_negative``.

The same arguments always give byte-identical output (dates are relative to ``--today``, which
has a fixed default for that reason). Records are shuffled through a window of a few thousand,
so a duplicate lands near, but not next to, its original; record ids are assigned on output.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import phonenumbers

try:  # run as a script, or imported with benchmarks/ on sys.path
    import gendata as data
except ImportError:  # imported as benchmarks.generate from the repository root
    from benchmarks import gendata as data

T = TypeVar("T")
Record = dict[str, Any]

DEFAULT_TODAY = date(2026, 11, 1)
SHUFFLE_WINDOW = 4096
RECORD_KEYS = (
    "record_id", "entity_id", "external_id", "kind", "name", "company", "phones", "phones_e164",
    "emails", "status", "grade", "source", "industry", "city", "gender", "budget", "needs", "tags",
    "notes", "first_contact_on", "next_follow_up_on", "interactions", "damage", "hard_negative",
    "hard_negative_of",
)  # fmt: skip
INTERACTION_KEYS = ("at", "channel", "summary", "outcome", "next_follow_up_on")
SHEET_COLUMNS = (
    "客户编号", "客户名称", "联系电话", "邮箱", "公司", "客户状态", "客户等级", "客户来源", "城市",
    "标签", "首次接触时间", "备注",
)  # fmt: skip
FORMATS = ("jsonl", "csv", "xlsx")


class Weighted(Generic[T]):
    """A fixed weighted choice, O(log n) per pick."""

    def __init__(self, items: Mapping[T, float] | Iterable[tuple[T, float]]) -> None:
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
        self.items: list[T] = [item for item, _ in pairs]
        self.cum = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect.bisect(self.cum, rng.random() * self.total)]


def choose(rng: random.Random, seq: Sequence[T]) -> T:
    """``rng.choice`` without its overhead (this is the generator's hottest call)."""
    return seq[int(rng.random() * len(seq))]


def _zipf(names: str, offset: float = 8.0) -> Weighted[str]:
    """Weights from rank for lists written most common first."""
    return Weighted((name, 1.0 / (rank + offset)) for rank, name in enumerate(names.split()))


# ---------------------------------------------------------------------------------------------
# Phones


@dataclass(frozen=True, slots=True)
class Phone:
    """One real, valid number and what is needed to write it in any local style."""

    country: str  # "CN" | "US"
    kind: str  # "mobile" | "landline"
    area: str  # "0755", "415"; "" for a Chinese mobile
    local: str  # subscriber digits ("88881234", "5550134") or the 11 mobile digits
    e164: str


CN_MOBILE_STYLES = Weighted(
    {"{d}": 50, "{a} {b} {c}": 14, "{a}-{b}-{c}": 10, "+86 {a}-{b}-{c}": 10,
     "0086 {a} {b} {c}": 5, "+86{d}": 5, "+86 {d}": 6}
)  # fmt: skip
CN_LANDLINE_STYLES = Weighted(
    {"({area}) {s1}-{s2}": 20, "{area}-{sub}": 35, "{area}-{s1}-{s2}": 10, "{area}{sub}": 10,
     "+86 {area1} {s1} {s2}": 10, "{area} {sub}": 15}
)  # fmt: skip
US_STYLES = Weighted(
    {"({a}) {e}-{l}": 35, "+1 {a}.{e}.{l}": 8, "{a}-{e}-{l}": 20, "{a}.{e}.{l}": 8,
     "+1 ({a}) {e}-{l}": 10, "{a}{e}{l}": 7, "+1{a}{e}{l}": 7, "1-{a}-{e}-{l}": 5}
)  # fmt: skip


def _valid_nsn_patterns() -> dict[tuple[str, str], re.Pattern[str]]:
    """libphonenumber's own patterns for valid national numbers of each kind we generate.

    Matching these is what ``phonenumbers.is_valid_number`` does for a number of known type, at
    a fraction of the cost; ``--check`` still validates every written phone with the full API.
    """
    cn = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    us = phonenumbers.PhoneMetadata.metadata_for_region("US")
    assert cn is not None and us is not None
    patterns = {
        ("CN", "mobile"): cn.mobile.national_number_pattern,
        ("CN", "landline"): cn.fixed_line.national_number_pattern,
        ("US", "landline"): us.fixed_line.national_number_pattern,
    }
    return {key: re.compile(pattern) for key, pattern in patterns.items()}


VALID_NSN = _valid_nsn_patterns()


def format_phone(phone: Phone, rng: random.Random) -> str:
    """Write a phone the way people type it: one of several local or international styles."""
    if phone.country == "CN" and phone.kind == "mobile":
        d = phone.local
        return CN_MOBILE_STYLES.pick(rng).format(d=d, a=d[:3], b=d[3:7], c=d[7:])
    if phone.country == "CN":
        sub = phone.local
        return CN_LANDLINE_STYLES.pick(rng).format(
            area=phone.area, area1=phone.area[1:], sub=sub, s1=sub[:-4], s2=sub[-4:]
        )
    return US_STYLES.pick(rng).format(a=phone.area, e=phone.local[:3], l=phone.local[3:])


def excel_float(phone: Phone) -> str | None:
    """The text a workbook round trip leaves: ``13812345678.0`` (mobiles and US numbers only)."""
    if phone.country == "CN" and phone.kind == "mobile":
        return f"{phone.local}.0"
    if phone.country == "US":
        return f"{phone.area}{phone.local}.0"
    return None


def parse_generated_phone(text: str, e164: str) -> phonenumbers.PhoneNumber:
    """Parse a generated phone string in its own country (as the --check and the tests do)."""
    text = text.strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return phonenumbers.parse(text, "CN" if e164.startswith("+86") else "US")


# ---------------------------------------------------------------------------------------------
# Entities


@dataclass(slots=True)
class Org:
    """A company: as an employer (persons' ``company``) or as a customer of kind ``company``."""

    lang: str
    city_part: str  # 深圳 (zh only)
    brand: str  # 华信 / Acme
    word: str  # 科技 / Systems / ""
    legal: str  # 有限公司 / Inc.
    city: str
    industry: str
    domain: str
    office: Phone

    @property
    def name(self) -> str:
        if self.lang == "zh":
            return f"{self.city_part}{self.brand}{self.word}{self.legal}"
        return " ".join(part for part in (self.brand, self.word, self.legal) if part)


@dataclass(slots=True)
class Entity:
    """One real-world customer; every record of it is rendered from here."""

    entity_id: str
    lang: str  # "zh" | "en"
    kind: str  # "person" | "company"
    country: str  # "CN" | "US": where its phones are
    gender: str | None = None
    surname: str = ""  # zh
    given: str = ""  # zh
    first: str = ""  # en
    last: str = ""  # en
    org: Org | None = None  # the employer (person) or the company itself (company)
    city: str = ""
    phones: list[Phone] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)
    hard_negative: str | None = None
    hard_negative_of: str | None = None

    @property
    def name(self) -> str:
        if self.kind == "company":
            assert self.org is not None
            return self.org.name
        if self.lang == "zh":
            return self.surname + self.given
        return f"{self.first} {self.last}"


SURNAME_PINYIN = {hanzi: pinyin for hanzi, pinyin, _ in data.SURNAMES}
W_SURNAME = Weighted((hanzi, weight) for hanzi, _, weight in data.SURNAMES)
W_COMMON_GIVEN = {
    "male": Weighted(data.COMMON_MALE_GIVEN),
    "female": Weighted(data.COMMON_FEMALE_GIVEN),
}
GIVEN_CHARS = {"male": data.MALE_CHARS, "female": data.FEMALE_CHARS}
W_FIRST = {"male": _zipf(data.WESTERN_MALE), "female": _zipf(data.WESTERN_FEMALE)}
W_LAST = _zipf(data.WESTERN_LAST, offset=15.0)
W_CN_CITY = Weighted((row, row[4]) for row in data.CN_CITIES)
W_US_CITY = Weighted((row, row[2]) for row in data.US_CITIES)
CN_CITY = {row[0]: row for row in data.CN_CITIES}
CN_CITY_BY_PINYIN = {row[1].capitalize(): row[0] for row in data.CN_CITIES}
US_AREAS = {row[0]: row[1] for row in data.US_CITIES}
W_CN_PREFIX = Weighted(data.CN_MOBILE_PREFIXES)
W_CN_WORD = Weighted(((word, industry), w) for word, industry, w in data.CN_INDUSTRY_WORDS)
W_EN_WORD = Weighted(((word, industry), w) for word, industry, w in data.EN_INDUSTRY_WORDS)
W_CN_LEGAL = Weighted(data.CN_LEGAL_FORMS)
W_EN_LEGAL = Weighted((legal, w) for legal, (w, _) in data.EN_LEGAL_FORMS.items())
EN_BRANDS = data.EN_BRANDS.split()
CN_BRANDS = list(data.CN_BRAND_CHARS)
W_STATUS = Weighted(data.STATUS_WEIGHTS)
W_GRADE = Weighted(data.GRADE_WEIGHTS)
W_SOURCE = {"zh": Weighted(data.SOURCES_ZH), "en": Weighted(data.SOURCES_EN)}
W_CHANNEL = Weighted(data.CHANNEL_WEIGHTS)
W_DOMAIN = {"zh": Weighted(data.EMAIL_DOMAINS_ZH), "en": Weighted(data.EMAIL_DOMAINS_EN)}
W_PHONE_COUNT = Weighted({0: 5, 1: 60, 2: 28, 3: 7})
W_TAG_COUNT = Weighted({0: 35, 1: 30, 2: 20, 3: 10, 4: 5})
W_DUPE_COUNT = Weighted({1: 60, 2: 30, 3: 10})
INTERACTION_MEAN = {"lead": 2.0, "prospect": 7.0, "customer": 12.0, "lost": 6.0}
UTC_OFFSET_HOURS = {"zh": 8, "en": -5}
INDUSTRIES = {
    "zh": sorted({industry for _, industry, _ in data.CN_INDUSTRY_WORDS}),
    "en": sorted({industry for _, industry, _ in data.EN_INDUSTRY_WORDS}),
}
TEXT = {
    "zh": (data.TOPICS_ZH, data.REACTIONS_ZH, data.SUMMARY_ZH, data.OUTCOMES_ZH),
    "en": (data.TOPICS_EN, data.REACTIONS_EN, data.SUMMARY_EN, data.OUTCOMES_EN),
}
EPOCH = datetime(1970, 1, 1)


class Factory:
    """Builds entities and their records from one seeded random stream."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.used_phones: set[int] = set()
        self.used_emails: set[str] = set()
        self.used_domains: set[str] = set()
        self.orgs: dict[str, list[Org]] = {"zh": [], "en": []}
        self.entity_seq = 0

    # -- phones -------------------------------------------------------------------------------

    def _register(self, country: str, kind: str, area: str, local: str) -> Phone | None:
        code = 86 if country == "CN" else 1
        national = area.lstrip("0") + local
        key = code * 10**12 + int(national)
        if key in self.used_phones:
            return None
        if not VALID_NSN[country, kind].fullmatch(national):
            return None
        self.used_phones.add(key)
        return Phone(country, kind, area, local, f"+{code}{national}")

    def _retry(self, make: Callable[[], Phone | None]) -> Phone:
        for _ in range(1000):
            phone = make()
            if phone is not None:
                return phone
        raise RuntimeError("could not generate a valid, unused phone number")

    def cn_mobile(self) -> Phone:
        rng = self.rng
        return self._retry(
            lambda: self._register(
                "CN", "mobile", "", W_CN_PREFIX.pick(rng) + f"{rng.randrange(10**8):08d}"
            )
        )

    def cn_landline(self, city: str) -> Phone:
        rng = self.rng
        _, _, area, digits, _ = CN_CITY[CN_CITY_BY_PINYIN.get(city, city)]

        def make() -> Phone | None:
            sub = str(rng.randint(2, 8)) + "".join(rng.choices("0123456789", k=digits - 1))
            return self._register("CN", "landline", area, sub)

        return self._retry(make)

    def us_number(self, city: str) -> Phone:
        rng = self.rng
        areas = US_AREAS[city]

        def make() -> Phone | None:
            exchange = rng.randint(200, 999)
            if exchange % 100 == 11:  # N11 codes are service numbers
                return None
            local = f"{exchange}{rng.randrange(10**4):04d}"
            return self._register("US", "landline", choose(rng, areas), local)

        return self._retry(make)

    def mobile(self, country: str, city: str) -> Phone:
        return self.cn_mobile() if country == "CN" else self.us_number(city)

    def landline(self, country: str, city: str) -> Phone:
        return self.cn_landline(city) if country == "CN" else self.us_number(city)

    # -- names, e-mail, companies --------------------------------------------------------------

    def zh_given(self, gender: str) -> str:
        rng = self.rng
        if rng.random() < 0.4:
            return W_COMMON_GIVEN[gender].pick(rng)
        chars = GIVEN_CHARS[gender]
        return "".join(choose(rng, chars) for _ in range(1 if rng.random() < 0.25 else 2))

    def unique_email(self, local: str, domain: str) -> str:
        email = f"{local}@{domain}"
        while email in self.used_emails:
            email = f"{local}{self.rng.randint(1, 9999)}@{domain}"
        self.used_emails.add(email)
        return email

    def person_email(self, ent: Entity) -> str:
        rng = self.rng
        use_work = ent.org is not None and rng.random() < 0.3
        domain = ent.org.domain if use_work and ent.org else W_DOMAIN[ent.lang].pick(rng)
        if ent.lang == "zh":
            s = SURNAME_PINYIN[ent.surname]
            g = "".join(data.PINYIN[ch] for ch in ent.given)
            if domain == "qq.com" and rng.random() < 0.6:
                return self.unique_email(str(rng.randint(10**5, 3 * 10**9)), domain)
            local = choose(
                rng,
                [f"{s}{g}", f"{s}.{g}", f"{g}.{s}", f"{s}{g}{rng.randint(1, 999)}",
                 f"{s}{g}{rng.randint(1970, 2003)}", f"{s[0]}{g[0]}{rng.randint(100, 99999)}"]
            )  # fmt: skip
        else:
            f, last = ent.first.lower(), ent.last.lower().replace("'", "")
            local = choose(
                rng,
                [f"{f}.{last}", f"{f[0]}{last}", f"{f}{last}", f"{f}_{last}", f"{last}{f[0]}",
                 f"{f}.{last}{rng.randint(1, 99)}", f"{f}{rng.randint(1, 999)}"]
            )  # fmt: skip
        return self.unique_email(local, domain)

    def unique_domain(self, base: str, suffixes: Sequence[str]) -> str:
        domain = base + choose(self.rng, suffixes)
        while domain in self.used_domains:
            domain = f"{base}{self.rng.randint(2, 999)}{choose(self.rng, suffixes)}"
        self.used_domains.add(domain)
        return domain

    def new_org(self, lang: str) -> Org:
        rng = self.rng
        if lang == "zh":
            city, city_py, _, _, _ = W_CN_CITY.pick(rng)
            brand = "".join(rng.sample(CN_BRANDS, 2))
            word, industry = W_CN_WORD.pick(rng)
            base = "".join(data.CN_BRAND_CHARS[ch] for ch in brand)
            domain = self.unique_domain(base, (".com", ".com.cn", ".cn", f"-{city_py[:2]}.com"))
            org = Org("zh", city, brand, word, W_CN_LEGAL.pick(rng), city, industry, domain,
                      self.cn_landline(city))  # fmt: skip
        else:
            city = W_US_CITY.pick(rng)[0]
            if rng.random() < 0.15:
                brand = f"{W_LAST.pick(rng)} & {choose(rng, ['Sons', 'Co', 'Partners'])}"
            else:
                brand = choose(rng, EN_BRANDS)
            word, industry = W_EN_WORD.pick(rng)
            base = "".join(ch for ch in (brand + word).lower() if ch.isalnum())
            domain = self.unique_domain(base, (".com", ".com", ".io", ".net", ".co"))
            org = Org("en", "", brand, word, W_EN_LEGAL.pick(rng), city, industry, domain,
                      self.us_number(city))  # fmt: skip
        pool = self.orgs[lang]
        if len(pool) < 5000:
            pool.append(org)
        else:
            pool[rng.randrange(len(pool))] = org
        return org

    def employer(self, lang: str) -> Org:
        pool = self.orgs[lang]
        if len(pool) < 50 or self.rng.random() < 0.35:
            return self.new_org(lang)
        return choose(self.rng, pool)

    # -- entities -------------------------------------------------------------------------------

    def _entity_id(self) -> str:
        self.entity_seq += 1
        return f"E{self.entity_seq:07d}"

    def new_person(self, lang: str, *, surname: str = "", last: str = "") -> Entity:
        rng = self.rng
        gender = "male" if rng.random() < 0.55 else "female"
        country = "CN" if lang == "zh" or rng.random() < 0.05 else "US"
        ent = Entity(self._entity_id(), lang, "person", country, gender)
        if lang == "zh":
            ent.surname = surname or W_SURNAME.pick(rng)
            ent.given = self.zh_given(gender)
        else:
            ent.first = W_FIRST[gender].pick(rng)
            ent.last = last or W_LAST.pick(rng)
        if rng.random() < (0.75 if lang == "zh" else 0.8):
            ent.org = self.employer(lang)
        if ent.org is not None and rng.random() < 0.85 and (country == "CN") == (lang == "zh"):
            ent.city = ent.org.city
        elif country == "CN":
            city, city_py, _, _, _ = W_CN_CITY.pick(rng)
            ent.city = city if lang == "zh" else city_py.capitalize()
        else:
            ent.city = W_US_CITY.pick(rng)[0]
        for i in range(W_PHONE_COUNT.pick(rng)):
            roll = rng.random()
            if (i == 0 and roll < 0.95) or roll < 0.5:
                ent.phones.append(self.mobile(country, ent.city))
            elif ent.org is not None and roll < 0.8 and ent.org.office not in ent.phones:
                ent.phones.append(ent.org.office)
            else:
                ent.phones.append(self.landline(country, ent.city))
        for _ in range(rng.choices((0, 1, 2), (35, 55, 10))[0]):
            ent.emails.append(self.person_email(ent))
        ent.profile = self.profile(lang, ent.org)
        return ent

    def new_company(self, lang: str) -> Entity:
        rng = self.rng
        org = self.new_org(lang)
        country = "CN" if lang == "zh" else "US"
        ent = Entity(self._entity_id(), lang, "company", country, org=org, city=org.city)
        ent.phones.append(org.office)
        if rng.random() < 0.5:
            ent.phones.append(self.mobile(country, org.city))
        if rng.random() < 0.7:
            role = choose(rng, ["info", "sales", "contact", "service", "office", "admin"])
            ent.emails.append(self.unique_email(role, org.domain))
        ent.profile = self.profile(lang, org)
        return ent

    def profile(self, lang: str, org: Org | None) -> dict[str, Any]:
        rng = self.rng
        source: str | None = W_SOURCE[lang].pick(rng) if rng.random() < 0.9 else None
        if source and lang == "en" and rng.random() < 0.1:
            source = source.title()
        industry = org.industry if org else choose(rng, INDUSTRIES[lang])
        products = data.PRODUCTS_ZH if lang == "zh" else data.PRODUCTS_EN
        needs_tpl = data.NEEDS_ZH if lang == "zh" else data.NEEDS_EN
        unit = 10_000 if lang == "zh" else 1_000
        return {
            "status": W_STATUS.pick(rng),
            "grade": W_GRADE.pick(rng) if rng.random() < 0.85 else None,
            "source": source,
            "industry": industry if rng.random() < 0.8 else None,
            "budget": choose(rng, [5, 10, 20, 30, 50, 80, 100, 200, 500]) * unit
            if rng.random() < 0.5
            else None,
            "needs": choose(rng, needs_tpl).format(p=choose(rng, products))
            if rng.random() < 0.6
            else None,
            "tags": self.tags(lang),
            "notes": self.note(lang),
        }

    def tags(self, lang: str) -> list[str]:
        pool = data.TAGS_ZH if lang == "zh" else data.TAGS_EN
        return self.rng.sample(pool, W_TAG_COUNT.pick(self.rng))

    def note(self, lang: str) -> str | None:
        if self.rng.random() < 0.6:
            return None
        return choose(self.rng, data.NOTES_ZH if lang == "zh" else data.NOTES_EN)

    # -- hard negatives -------------------------------------------------------------------------

    def family_member(self, base: Entity) -> Entity | None:
        """Same surname, same home landline, different given name."""
        if base.kind != "person":
            return None
        home = next((p for p in base.phones if p.kind == "landline" and p != _office(base)), None)
        if home is None:
            home = self.landline(base.country, base.city)
            base.phones.append(home)
        for _ in range(20):
            kin = self.new_person(base.lang, surname=base.surname, last=base.last)
            if kin.name != base.name:
                break
        kin.city, kin.country = base.city, base.country
        kin.phones = [home, *[p for p in kin.phones if p.kind == "mobile"][:1]]
        return kin

    def colleague(self, base: Entity) -> Entity | None:
        """Same employer and office landline, different person."""
        if base.kind != "person" or base.org is None:
            return None
        office = base.org.office
        if office not in base.phones:
            base.phones.append(office)
        for _ in range(20):
            mate = self.new_person(base.lang)
            if mate.name != base.name:
                break
        mate.org = base.org
        mate.city, mate.country = base.city, base.country
        mate.emails = [self.person_email(mate) for _ in mate.emails]
        mate.phones = [office, *[p for p in mate.phones if p.kind == "mobile" and p != office][:1]]
        mate.profile["industry"] = base.profile["industry"]
        return mate

    def namesake(self, base: Entity) -> Entity | None:
        """A different person with exactly the same name (many distinct 王伟)."""
        if base.kind != "person":
            return None
        other = self.new_person(base.lang, surname=base.surname, last=base.last)
        other.given, other.first, other.gender = base.given, base.first, base.gender
        other.emails = [self.person_email(other) for _ in other.emails]
        return other

    # -- records --------------------------------------------------------------------------------

    def record(self, ent: Entity, *, duplicate: bool = False) -> Record:
        rng = self.rng
        prof = ent.profile
        first_contact = self.today - timedelta(days=rng.randrange(1, 1096))
        status = W_STATUS.pick(rng) if duplicate and rng.random() < 0.3 else prof["status"]
        follow_up = None
        if rng.random() < 0.3:
            roll = rng.random()
            offset = -rng.randint(1, 60) if roll < 0.4 else 0 if roll < 0.45 else rng.randint(1, 45)
            follow_up = (self.today + timedelta(days=offset)).isoformat()
        mean = INTERACTION_MEAN[status]
        count = min(5 if duplicate else 30, int(rng.expovariate(1.0 / mean)))
        tags = prof["tags"]
        if duplicate:
            tags = rng.sample(tags, rng.randint(0, len(tags)))
        return {
            "record_id": None,
            "entity_id": ent.entity_id,
            "external_id": None,
            "kind": ent.kind,
            "name": ent.name,
            "company": ent.org.name if ent.org is not None and ent.kind == "person" else None,
            "phones": [format_phone(p, rng) for p in ent.phones],
            "phones_e164": [p.e164 for p in ent.phones],
            "emails": list(ent.emails),
            "status": status,
            "grade": prof["grade"],
            "source": prof["source"],
            "industry": prof["industry"],
            "city": ent.city,
            "gender": ent.gender,
            "budget": prof["budget"],
            "needs": prof["needs"],
            "tags": list(tags),
            "notes": self.note(ent.lang) if duplicate else prof["notes"],
            "first_contact_on": first_contact.isoformat(),
            "next_follow_up_on": follow_up,
            "interactions": self.interactions(ent.lang, first_contact, count),
            "damage": [],
            "hard_negative": ent.hard_negative,
            "hard_negative_of": ent.hard_negative_of,
        }

    def interactions(self, lang: str, start: date, count: int) -> list[dict[str, Any]]:
        if not count:
            return []
        rng = self.rng
        topics, reactions, summaries, outcomes = TEXT[lang]
        span = (self.today - start).days + 1
        base = (start - EPOCH.date()).days * 86400 - UTC_OFFSET_HOURS[lang] * 3600
        rnd = rng.random
        seconds = sorted(
            base + int(rnd() * span) * 86400 + 8 * 3600 + int(rnd() * 12 * 3600)
            for _ in range(count)
        )
        out = []
        for sec in seconds:
            at = EPOCH + timedelta(seconds=sec - sec % 60)
            channel = W_CHANNEL.pick(rng)
            summary = choose(rng, summaries[channel]).format(
                t=choose(rng, topics), r=choose(rng, reactions)
            )
            nxt = None
            if rnd() < 0.15:
                nxt = (at.date() + timedelta(days=1 + int(rnd() * 30))).isoformat()
            out.append(
                {
                    "at": at.isoformat() + "Z",
                    "channel": channel,
                    "summary": summary,
                    "outcome": choose(rng, outcomes) if rnd() < 0.3 else None,
                    "next_follow_up_on": nxt,
                }
            )
        return out


def _office(ent: Entity) -> Phone | None:
    return ent.org.office if ent.org is not None else None


# ---------------------------------------------------------------------------------------------
# Damage: each function edits a duplicate record in place and returns False when not applicable.


def _latin_typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word + word[-1]
    i = rng.randrange(1, len(word))
    op = rng.randrange(4)
    ch = word[i].lower()
    if op == 0 and ch in data.KEYBOARD_NEIGHBOURS:
        return word[:i] + choose(rng, data.KEYBOARD_NEIGHBOURS[ch]) + word[i + 1 :]
    if op == 1 and len(word) > 3:
        return word[:i] + word[i + 1 :]
    if op == 2 and i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i] + word[i:]


def d_typo(rec: Record, ent: Entity, rng: random.Random) -> bool:
    if ent.kind == "company":
        assert ent.org is not None
        org = ent.org
        if ent.lang == "zh":
            brand = org.brand.replace(choose(rng, org.brand), choose(rng, CN_BRANDS), 1)
            rec["name"] = rec["name"].replace(org.brand, brand, 1)
        else:
            rec["name"] = rec["name"].replace(org.brand, _latin_typo(org.brand, rng), 1)
    elif ent.lang == "zh":
        given = ent.given
        pool = GIVEN_CHARS[ent.gender or "male"]
        i = rng.randrange(len(given))
        if len(given) == 2 and rng.random() < 0.2:
            given = given[:i] + given[i + 1 :]
        elif rng.random() < 0.15:
            given = given[: i + 1] + given[i] + given[i + 1 :]
        else:
            given = given[:i] + choose(rng, pool.replace(given[i], "")) + given[i + 1 :]
        rec["name"] = ent.surname + given
    elif rng.random() < 0.5:
        rec["name"] = f"{_latin_typo(ent.first, rng)} {ent.last}"
    else:
        rec["name"] = f"{ent.first} {_latin_typo(ent.last, rng)}"
    return rec["name"] != ent.name


def d_traditional(rec: Record, ent: Entity, rng: random.Random) -> bool:
    if ent.lang != "zh":
        return False
    table = data.TRADITIONAL
    name = "".join(table.get(ch, ch) for ch in rec["name"])
    if name == rec["name"]:
        return False
    rec["name"] = name
    if rec["company"]:
        rec["company"] = "".join(table.get(ch, ch) for ch in rec["company"])
    return True


def d_homophone(rec: Record, ent: Entity, rng: random.Random) -> bool:
    if ent.lang != "zh" or ent.kind != "person":
        return False
    options = [i for i, ch in enumerate(ent.given) if len(data.HOMOPHONES[data.PINYIN[ch]]) > 1]
    if not options:
        return False
    i = choose(rng, options)
    ch = ent.given[i]
    other = choose(rng, data.HOMOPHONES[data.PINYIN[ch]].replace(ch, ""))
    rec["name"] = ent.surname + ent.given[:i] + other + ent.given[i + 1 :]
    return True


def d_romanised(rec: Record, ent: Entity, rng: random.Random) -> bool:
    if ent.lang != "zh" or ent.kind != "person":
        return False
    s = SURNAME_PINYIN[ent.surname].capitalize()
    g = "".join(data.PINYIN[ch] for ch in ent.given).capitalize()
    rec["name"] = choose(rng, [f"{s} {g}", f"{g} {s}", f"{s.upper()} {g}", f"{s} {g}".lower()])
    return True


def d_name_order(rec: Record, ent: Entity, rng: random.Random) -> bool:
    if ent.lang != "en" or ent.kind != "person":
        return False
    rec["name"] = choose(rng, [f"{ent.last}, {ent.first}", f"{ent.last} {ent.first}",
                              f"{ent.last.upper()}, {ent.first}"])  # fmt: skip
    return True


def d_nickname(rec: Record, ent: Entity, rng: random.Random) -> bool:
    nicks = data.NICKNAMES.get(ent.first) if ent.kind == "person" else None
    if not nicks:
        return False
    rec["name"] = f"{choose(rng, nicks)} {ent.last}"
    return True


def d_case(rec: Record, ent: Entity, rng: random.Random) -> bool:
    if ent.lang != "en":
        return False
    rec["name"] = rec["name"].upper() if rng.random() < 0.6 else rec["name"].lower()
    return True


def d_middle_initial(rec: Record, ent: Entity, rng: random.Random) -> bool:
    if ent.lang != "en" or ent.kind != "person":
        return False
    rec["name"] = f"{ent.first} {choose(rng, 'ABCDEFGHJKLMRSTW')}. {ent.last}"
    return True


def company_variant(org: Org, rng: random.Random) -> str:
    """Another way the same company gets written (某某公司, ACME Incorporated, Acme)."""
    if org.lang == "zh":
        c, b, w, legal = org.city_part, org.brand, org.word, org.legal
        options = [f"{b}公司", f"{b}{w}", f"{c}{b}", f"{b}{w}{legal}", f"{c}市{b}{w}{legal}",
                   f"{c}{b}{w}", f"{b}{w}（{c}）有限公司"]  # fmt: skip
    else:
        base = " ".join(part for part in (org.brand, org.word) if part)
        alt = choose(rng, data.EN_LEGAL_FORMS[org.legal][1])
        sep = "" if alt.startswith(",") else " "
        options = [base, f"{base}{sep}{alt}", f"{base.upper()}{sep}{alt}", f"{org.brand}",
                   f"{base.upper()} {org.legal}", f"The {base}"]  # fmt: skip
    options = [o for o in options if o != org.name]
    return choose(rng, options)


def d_company_variant(rec: Record, ent: Entity, rng: random.Random) -> bool:
    if ent.org is None:
        return False
    key = "name" if ent.kind == "company" else "company"
    if rec[key] != ent.org.name:
        return False
    rec[key] = company_variant(ent.org, rng)
    return True


def d_phone_format(rec: Record, ent: Entity, rng: random.Random) -> bool:
    phones: list[Phone] = rec["_phones"]
    if not phones:
        return False
    before = list(rec["phones"])
    for _ in range(5):
        rec["phones"] = [format_phone(p, rng) for p in phones]
        if rec["phones"] != before:
            return True
    return False


def d_phone_float(rec: Record, ent: Entity, rng: random.Random) -> bool:
    options = [i for i, p in enumerate(rec["_phones"]) if excel_float(p)]
    if not options:
        return False
    i = choose(rng, options)
    rec["phones"][i] = excel_float(rec["_phones"][i])
    return True


def d_phone_dropped(rec: Record, ent: Entity, rng: random.Random) -> bool:
    if len(rec["phones"]) < 2:
        return False
    i = rng.randrange(len(rec["phones"]))
    del rec["phones"][i], rec["phones_e164"][i], rec["_phones"][i]
    return True


def d_phone_added(rec: Record, ent: Entity, rng: random.Random, factory: Factory) -> None:
    phone = factory.mobile(ent.country, ent.city)
    rec["_phones"].append(phone)
    rec["phones"].append(format_phone(phone, rng))
    rec["phones_e164"].append(phone.e164)


def d_email_dropped(rec: Record, ent: Entity, rng: random.Random) -> bool:
    if not rec["emails"] or not rec["phones"]:
        return False
    rec["emails"] = rec["emails"][1:]
    return True


def d_email_case(rec: Record, ent: Entity, rng: random.Random) -> bool:
    if not rec["emails"]:
        return False
    local, _, domain = rec["emails"][0].partition("@")
    if rng.random() < 0.25:
        rec["emails"][0] = f" {local}@{domain} "
    else:
        local = local.upper() if local.isdigit() or rng.random() < 0.5 else local.title()
        rec["emails"][0] = f"{local}@{domain.upper() if rng.random() < 0.3 else domain}"
    return True


def d_fields_missing(rec: Record, ent: Entity, rng: random.Random) -> bool:
    keys = ["company", "city", "industry", "source", "grade", "budget", "needs", "notes", "gender"]
    for key in rng.sample(keys, rng.randint(2, 4)):
        rec[key] = None
    rec["tags"] = []
    return True


NAME_DAMAGE: dict[tuple[str, str], list[Callable[[Record, Entity, random.Random], bool]]] = {
    ("zh", "person"): [d_typo, d_traditional, d_homophone, d_romanised, d_romanised],
    ("en", "person"): [d_typo, d_name_order, d_nickname, d_nickname, d_case, d_middle_initial],
    ("zh", "company"): [d_typo, d_traditional, d_company_variant, d_company_variant],
    ("en", "company"): [d_typo, d_company_variant, d_company_variant, d_case],
}
OTHER_DAMAGE = [d_phone_format, d_phone_format, d_phone_float, d_phone_dropped, d_email_dropped,
                d_email_case, d_company_variant, d_fields_missing]  # fmt: skip


def damage_name(fn: Callable[..., bool]) -> str:
    return fn.__name__.removeprefix("d_")


def duplicate(factory: Factory, ent: Entity) -> Record:
    """One more record of ``ent`` with one to three kinds of realistic damage (listed in it)."""
    rng = factory.rng
    rec = factory.record(ent, duplicate=True)
    rec["_phones"] = list(ent.phones)
    applied: list[str] = []
    if rng.random() < 0.7:
        for fn in rng.sample(NAME_DAMAGE[ent.lang, ent.kind], 2):
            if fn(rec, ent, rng):
                applied.append(damage_name(fn))
                break
    wanted = rng.randint(0, 1) if applied else rng.randint(1, 2)
    for fn in rng.sample(OTHER_DAMAGE, len(OTHER_DAMAGE)):
        if wanted <= 0:
            break
        name = damage_name(fn)
        if name not in applied and fn(rec, ent, rng):
            applied.append(name)
            wanted -= 1
    if ent.kind == "person" and rng.random() < 0.15:
        d_phone_added(rec, ent, rng, factory)
        applied.append("phone_added")
    del rec["_phones"]
    rec["damage"] = applied
    return rec


# ---------------------------------------------------------------------------------------------
# The stream


def _cluster(factory: Factory, dupes: float, hard_negatives: float) -> list[Record]:
    rng = factory.rng
    lang = "zh" if rng.random() < 0.6 else "en"
    base = factory.new_company(lang) if rng.random() < 0.15 else factory.new_person(lang)
    entities = [base]
    if rng.random() < hard_negatives:
        kind = choose(rng, ["family", "colleague", "common_name"])
        make = {"family": factory.family_member, "colleague": factory.colleague,
                "common_name": factory.namesake}[kind]  # fmt: skip
        other = make(base)
        if other is not None:
            other.hard_negative, other.hard_negative_of = kind, base.entity_id
            entities.append(other)
    records = []
    for ent in entities:
        records.append(factory.record(ent))
        if rng.random() < dupes:
            records.extend(duplicate(factory, ent) for _ in range(W_DUPE_COUNT.pick(rng)))
    return records


def generate(
    n: int,
    seed: int = 1,
    dupes: float = 0.15,
    hard_negatives: float = 0.05,
    today: date = DEFAULT_TODAY,
    window: int = SHUFFLE_WINDOW,
) -> Iterator[Record]:
    """Yield exactly ``n`` customer records (keys: ``RECORD_KEYS``), deterministic in ``seed``.

    ``dupes`` is the fraction of entities that get 1–3 damaged extra records; ``hard_negatives``
    the fraction that get a look-alike *distinct* entity (family, colleague, same name).
    """
    rng = random.Random(seed)
    factory = Factory(rng, today)
    buffer: list[Record] = []
    produced = emitted = 0
    while emitted < n:
        while produced < n and len(buffer) < window:
            cluster = _cluster(factory, dupes, hard_negatives)
            buffer.extend(cluster)
            produced += len(cluster)
        i = rng.randrange(len(buffer))
        buffer[i], buffer[-1] = buffer[-1], buffer[i]
        rec = buffer.pop()
        emitted += 1
        rec["record_id"] = f"R{emitted:07d}"
        rec["external_id"] = f"KH{emitted:07d}"
        yield rec


def load_jsonl(path: str | Path) -> Iterator[Record]:
    """Read back ``customers.jsonl`` as written by the script (one record a line)."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


# ---------------------------------------------------------------------------------------------
# Spreadsheet rows (the import benchmark's 12 columns)

DATE_STYLES = Weighted(
    {"%Y-%m-%d": 50, "{y}/{m}/{d}": 20, "{y}年{m}月{d}日": 15, "%Y%m%d": 8, "%Y.%m.%d": 7}
)
PHONE_SEPARATORS = Weighted({"/": 40, "；": 20, ";": 15, "，": 10, "\n": 15})
TAG_SEPARATORS = Weighted({"，": 40, ",": 30, "、": 20, ";": 10})


def _sheet_date(iso: str, rng: random.Random, excel: bool) -> date | str:
    day = date.fromisoformat(iso)
    if excel and rng.random() < 0.7:
        return day
    style = DATE_STYLES.pick(rng)
    if "{" in style:
        return style.format(y=day.year, m=day.month, d=day.day)
    return day.strftime(style)


def sheet_row(rec: Record, rng: random.Random, *, excel: bool) -> list[Any]:
    """The record as a row of ``SHEET_COLUMNS``, with the mess real workbooks have."""
    phones: list[str] = rec["phones"]
    phone_cell: Any = PHONE_SEPARATORS.pick(rng).join(phones) if len(phones) > 1 else ""
    if len(phones) == 1:
        phone_cell = phones[0]
        digits = phone_cell.removesuffix(".0")
        if digits.isdigit() and digits[0] != "0":  # Excel keeps these as numbers
            if excel and rng.random() < 0.6:
                phone_cell = int(digits)
            elif not excel and rng.random() < 0.03:
                phone_cell = f"{digits}.0"
    status = rec["status"]
    roll = rng.random()
    status_cell = (
        data.STATUS_ZH[status] if roll < 0.8 else status if roll < 0.95 else status.title()
    )
    grade = rec["grade"]
    if grade:
        grade = rng.choices([grade, f"{grade}级", grade.lower(), f"{grade}类"], (80, 10, 5, 5))[0]
    notes = rec["notes"] or rec["needs"]
    row = [
        rec["external_id"], rec["name"], phone_cell, ";".join(rec["emails"]),
        rec["company"], status_cell, grade, rec["source"], rec["city"],
        TAG_SEPARATORS.pick(rng).join(rec["tags"]),
        _sheet_date(rec["first_contact_on"], rng, excel), notes,
    ]  # fmt: skip
    if excel:
        return row
    return ["" if value is None else value for value in row]


# ---------------------------------------------------------------------------------------------
# Writers: one pass over the stream feeds every requested format.


class Writers:
    """Open output files for the requested formats plus ``truth.csv``; ``add`` one record."""

    def __init__(self, out: Path, formats: Sequence[str], seed: int, title_row: bool) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.paths: dict[str, Path] = {}
        self._files: list[Any] = []
        self._jsonl = self._csv = self._ws = self._wb = None
        self._csv_rng = random.Random(f"{seed}-csv")
        self._xlsx_rng = random.Random(f"{seed}-xlsx")
        if "jsonl" in formats:
            self._jsonl = self._open(out / "customers.jsonl", "jsonl")
        if "csv" in formats:
            fh = self._open(out / "customers.csv", "csv", encoding="utf-8-sig")
            self._csv = csv.writer(fh)
            self._csv.writerow(SHEET_COLUMNS)
        if "xlsx" in formats:
            import openpyxl

            self._wb = openpyxl.Workbook(write_only=True)
            self._ws = self._wb.create_sheet("客户信息")
            if title_row:
                self._ws.append(["客户信息登记表"])
            self._ws.append(list(SHEET_COLUMNS))
            self.paths["xlsx"] = out / "customers.xlsx"
        self._truth = csv.writer(self._open(out / "truth.csv", "truth"))
        self._truth.writerow(
            ["record_id", "external_id", "entity_id", "damage", "hard_negative", "hard_negative_of"]
        )

    def _open(self, path: Path, key: str, encoding: str = "utf-8") -> Any:
        fh = open(path, "w", encoding=encoding, newline="")  # noqa: SIM115 (closed in close())
        self._files.append(fh)
        self.paths[key] = path
        return fh

    def add(self, rec: Record) -> None:
        if self._jsonl is not None:
            self._jsonl.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        if self._csv is not None:
            self._csv.writerow(sheet_row(rec, self._csv_rng, excel=False))
        if self._ws is not None:
            self._ws.append(sheet_row(rec, self._xlsx_rng, excel=True))
        self._truth.writerow([rec["record_id"], rec["external_id"], rec["entity_id"],
                              "|".join(rec["damage"]), rec["hard_negative"] or "",
                              rec["hard_negative_of"] or ""])  # fmt: skip

    def close(self) -> None:
        if self._wb is not None:
            self._wb.save(self.paths["xlsx"])
        for fh in self._files:
            fh.close()


# ---------------------------------------------------------------------------------------------
# Self-check


class Checker:
    """Validates every phone with phonenumbers and counts what the benchmarks rely on."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.entities: set[str] = set()
        self.hard_negative_entities: Counter[str] = Counter()
        self.phone_owners: dict[str, set[str]] = {}
        self.name_owners: dict[str, set[str]] = {}
        self.bad_phones: list[tuple[str, str, str]] = []

    def add(self, rec: Record) -> None:
        c = self.counts
        c["records"] += 1
        c["interactions"] += len(rec["interactions"])
        eid = rec["entity_id"]
        if eid not in self.entities:
            self.entities.add(eid)
            if rec["hard_negative"]:
                self.hard_negative_entities[rec["hard_negative"]] += 1
        if rec["damage"]:
            c["damaged_records"] += 1
            for d in rec["damage"]:
                c[f"damage:{d}"] += 1
        if len(rec["phones"]) != len(rec["phones_e164"]):
            self.bad_phones.append((rec["record_id"], "length mismatch", ""))
        for text, e164 in zip(rec["phones"], rec["phones_e164"], strict=False):
            c["phones"] += 1
            try:
                num = parse_generated_phone(text, e164)
                ok = phonenumbers.is_valid_number(num) and (
                    phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164) == e164
                )
            except phonenumbers.NumberParseException:
                ok = False
            if not ok:
                self.bad_phones.append((rec["record_id"], text, e164))
            self.phone_owners.setdefault(e164, set()).add(eid)
        if not rec["damage"]:
            self.name_owners.setdefault(rec["name"], set()).add(eid)

    def summary(self) -> dict[str, int]:
        c = self.counts
        shared_names = {k: len(v) for k, v in self.name_owners.items() if len(v) > 1}
        top_name = max(shared_names.items(), key=lambda kv: kv[1], default=("-", 0))
        out = {
            "entities": len(self.entities),
            "records": c["records"],
            "duplicate_records": c["records"] - len(self.entities),
            "damaged_records": c["damaged_records"],
            "hard_negative_entities": sum(self.hard_negative_entities.values()),
            **{f"hard_negative:{k}": v for k, v in sorted(self.hard_negative_entities.items())},
            "phones_shared_by_distinct_entities": sum(
                1 for v in self.phone_owners.values() if len(v) > 1
            ),
            "names_shared_by_distinct_entities": len(shared_names),
            f"entities_named_{top_name[0]}": top_name[1],
            "interactions": c["interactions"],
            "phones_checked": c["phones"],
            "phones_invalid": len(self.bad_phones),
        }
        out.update(sorted((k, v) for k, v in c.items() if k.startswith("damage:")))
        return out


# ---------------------------------------------------------------------------------------------
# CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, required=True, help="records to write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--format", action="append", choices=[*FORMATS, "all"], help="repeatable; default jsonl"
    )
    parser.add_argument("--dupes", type=float, default=0.15, help="fraction of entities (0.15)")
    parser.add_argument("--hard-negatives", type=float, default=0.05, help="fraction (0.05)")
    parser.add_argument("--today", type=date.fromisoformat, default=DEFAULT_TODAY,
                        help=f"anchor for all dates (default {DEFAULT_TODAY})")  # fmt: skip
    parser.add_argument("--title-row", action="store_true", help="xlsx: a title above the header")
    parser.add_argument("--check", action="store_true", help="validate phones, print counts")
    args = parser.parse_args(argv)
    formats = args.format or ["jsonl"]
    if "all" in formats:
        formats = list(FORMATS)

    started = time.perf_counter()
    writers = Writers(args.out, formats, args.seed, args.title_row)
    checker = Checker() if args.check else None
    try:
        stream = generate(args.customers, args.seed, args.dupes, args.hard_negatives, args.today)
        for rec in stream:
            writers.add(rec)
            if checker is not None:
                checker.add(rec)
    finally:
        writers.close()
    elapsed = time.perf_counter() - started
    for key, path in writers.paths.items():
        print(f"{key:6} {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    print(f"{args.customers} records in {elapsed:.1f} s", file=sys.stderr)
    if checker is None:
        return 0
    for key, value in checker.summary().items():
        print(f"{key:40} {value}")
    for rid, text, e164 in checker.bad_phones[:20]:
        print(f"invalid phone in {rid}: {text!r} (meant {e164})", file=sys.stderr)
    return 1 if checker.bad_phones else 0


if __name__ == "__main__":
    sys.exit(main())
