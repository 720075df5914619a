"""Matching keys: names, pinyin, companies and nicknames."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcli.matching import (
    company_core_key,
    company_key,
    has_cjk,
    name_key,
    name_tokens,
    nickname_canonicals,
    pinyin_of,
    pinyin_syllables,
)


def test_has_cjk() -> None:
    assert has_cjk("张伟")
    assert has_cjk("Bob 張")
    assert not has_cjk("Zhang Wei")
    assert not has_cjk("")
    assert not has_cjk("カタカナ")  # kana is not Han: no pinyin for it


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("John Smith", "john smith"),
        ("  JOHN   smith ", "john smith"),
        ("Mr. John Smith", "john smith"),
        ("Dr John Smith", "john smith"),
        ("Smith, John", "john smith"),
        ("Smith, Mr. John", "john smith"),
        ("O'Brien", "obrien"),
        ("Mary-Jane Watson", "mary jane watson"),
        ("Ｊｏｈｎ Ｓｍｉｔｈ", "john smith"),
        ("张伟", "张伟"),
        ("张 伟", "张伟"),
        ("张　伟", "张伟"),
        ("王总", "王"),
        ("欧阳总", "欧阳"),
        ("李经理", "李"),
        ("张先生", "张"),
        ("刘女士", "刘"),
        ("陈小姐", "陈"),
        ("赵老师", "赵"),
        ("张伟先生", "张伟"),
        ("张伟 David", "张伟 david"),
        ("张伟David", "张伟 david"),
        ("约翰·史密斯", "约翰史密斯"),
        ("Miss", "miss"),  # an honorific alone is kept: the name must not vanish
        ("先生", "先生"),
    ],
)
def test_name_key(name: str, expected: str) -> None:
    assert name_key(name) == expected


def test_name_tokens() -> None:
    assert name_tokens("Smith, John") == ["john", "smith"]
    assert name_tokens("张 伟") == ["张伟"]
    assert name_tokens("张伟 David Li") == ["张伟", "david", "li"]
    assert name_tokens("") == []


def test_pinyin() -> None:
    assert pinyin_of("张伟") == ("zhangwei", "zw")
    assert pinyin_of("張偉") == ("zhangwei", "zw")  # traditional folds to the same
    assert pinyin_of("Ｚ张伟") == ("zzhangwei", "zzw")
    assert pinyin_of("张伟 David") == ("zhangweidavid", "zwd")
    assert pinyin_of("John Smith") is None
    assert pinyin_syllables("张伟") == ["zhang", "wei"]
    assert pinyin_syllables("王小明 Bob") == ["wang", "xiao", "ming", "bob"]


# Han characters common in names and company names, plus a few with several readings.
_HAN = st.sampled_from(
    list(
        "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂兰玉红霞文辉建国长乐单重行朝都传科技有限公司深圳北京上海贸易网络信息"
    )
)


@given(st.text(_HAN, min_size=1, max_size=8))
def test_pinyin_char_by_char_is_lazy_pinyin(text: str) -> None:
    """The per-character shortcut gives exactly what pypinyin's phrase-aware reading gives."""
    from pypinyin import lazy_pinyin

    from crmcli.matching import _char_by_char

    fast = _char_by_char(text)
    if fast is not None:
        assert fast == tuple(w for item in lazy_pinyin(text) for w in item.split())


@given(st.text(st.one_of(_HAN, st.sampled_from(" -_.abcXYZ12\u00e9\u3000（）")), max_size=24))
def test_pinyin_a_word_at_a_time_is_lazy_pinyin(text: str) -> None:
    """Converting pypinyin's words one at a time (cached) gives what one call on the whole
    text gives: phrases, mixed scripts, punctuation and full-width forms alike."""
    import re
    import unicodedata

    from pypinyin import lazy_pinyin

    from crmcli.matching import _syllables

    folded = unicodedata.normalize("NFKC", text).casefold()
    whole = lazy_pinyin(folded, errors=lambda chunk: " ".join(re.findall(r"[^\W_]+", chunk)))
    assert _syllables.__wrapped__(text) == tuple(w for item in whole for w in item.split())


def test_pinyin_char_by_char_leaves_phrases_and_mixed_text_to_pypinyin() -> None:
    from crmcli.matching import _char_by_char

    assert _char_by_char("张伟") == ("zhang", "wei")
    assert _char_by_char("重庆") is None  # a phrase: 重 reads chong here, zhong alone
    assert _char_by_char("张伟 david") is None
    assert _char_by_char("张伟\n") is None
    assert _char_by_char("张" * 100_000) is None  # long text: pypinyin, not a quadratic scan
    assert pinyin_syllables("重庆") == ["chong", "qing"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Acme Inc.", "acme"),
        ("ACME Incorporated", "acme"),
        ("acme", "acme"),
        ("Acme Co., Ltd.", "acme"),
        ("Acme Co.,Ltd", "acme"),
        ("Acme Limited", "acme"),
        ("Acme LLC", "acme"),
        ("Acme L.L.C.", "acme"),
        ("Acme GmbH", "acme"),
        ("Acme Corp", "acme"),
        ("Acme Corporation", "acme"),
        ("Acme PLC", "acme"),
        ("Acme S.A.", "acme"),
        ("Acme AG", "acme"),
        ("Acme BV", "acme"),
        ("Acme Widgets Co Ltd", "acme widgets"),
        ("深圳某某科技有限公司", "深圳某某科技"),
        ("某某公司", "某某"),
        ("某某有限责任公司", "某某"),
        ("某某股份有限公司", "某某"),
        ("某某集团有限公司", "某某"),
        ("某某（中国）有限公司", "某某"),
        ("某某(中国)有限公司", "某某"),
        ("某某科技有限公司深圳分公司", "某某科技深圳"),
        ("有限公司", "有限公司"),  # nothing but a legal form: kept
        ("Inc", "inc"),
    ],
)
def test_company_key(name: str, expected: str) -> None:
    assert company_key(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("深圳某某科技有限公司", "某某"),
        ("某某公司", "某某"),
        ("深圳市某某网络科技有限公司", "某某"),
        ("广东省某某贸易有限公司", "某某"),
        ("北京某某信息技术有限公司", "某某"),
        ("Acme Technologies Inc.", "acme"),
        ("Acme Global Solutions Ltd", "acme"),
        ("The Acme Group", "acme"),
        ("北京", "北京"),  # a name that is only a city is kept
        ("科技有限公司", "科技"),
    ],
)
def test_company_core_key(name: str, expected: str) -> None:
    assert company_core_key(name) == expected


def test_nickname_canonicals() -> None:
    assert "robert" in nickname_canonicals("bob")
    assert "bob" in nickname_canonicals("Bob")
    assert nickname_canonicals("Zhangwei") == frozenset({"zhangwei"})
    assert nickname_canonicals("  ") == frozenset()
    # two spellings of one person share a canonical name
    assert nickname_canonicals("bob") & nickname_canonicals("robert")
    assert nickname_canonicals("bill") & nickname_canonicals("william")


_names = st.one_of(
    st.text(),
    st.text(alphabet="张伟王总李经理先生女士 ,.-'SmithJohnMrDr先生（）()", max_size=20),
)
_companies = st.one_of(
    st.text(),
    st.lists(
        st.sampled_from(
            [
                *"深圳某科技有限公司集团股份（中国）() ,.",
                "Co",
                "Ltd",
                "Inc",
                "L.L.C.",
                "S.A.",
                "Acme",
            ]
        ),
        max_size=12,
    ).map("".join),
)


@given(_names)
def test_name_key_idempotent(name: str) -> None:
    key = name_key(name)
    assert name_key(key) == key


@given(_companies)
def test_company_key_idempotent(name: str) -> None:
    key = company_key(name)
    assert company_key(key) == key
    core = company_core_key(name)
    assert company_core_key(core) == core


def test_heavy_libraries_are_not_imported_at_start_up() -> None:
    code = (
        "import sys, crmcli.normalize, crmcli.matching;"
        "heavy = {'phonenumbers', 'pypinyin', 'rapidfuzz', 'nicknames'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
