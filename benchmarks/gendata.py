"""Reference tables for the benchmark data generator (``benchmarks/generate.py``).

Everything here is data, not logic: names with rough real-world frequencies, the pinyin of every
character the generator can put in a Chinese name (so it can romanise names and build homophones
without pypinyin), a small simplified→traditional table, nicknames, companies, cities with their
telephone area codes, and the vocabulary of sources, tags and interaction summaries.
"""

from __future__ import annotations

# Chinese surnames with their share of the population in per-mille (rounded, 2020 census order),
# written "surname:pinyin:weight". Compound surnames are included at their (small) real rate.
_SURNAMES = """
王:wang:71 李:li:70 张:zhang:68 刘:liu:54 陈:chen:46 杨:yang:31 黄:huang:25 赵:zhao:23
吴:wu:20 周:zhou:20 徐:xu:15 孙:sun:15 马:ma:14 朱:zhu:13 胡:hu:13 郭:guo:12 何:he:12
高:gao:11 林:lin:11 罗:luo:9 郑:zheng:9 梁:liang:8 谢:xie:7 宋:song:7 唐:tang:6 许:xu:6
韩:han:6 冯:feng:6 邓:deng:6 曹:cao:6 彭:peng:5 曾:zeng:5 肖:xiao:5 田:tian:5 董:dong:5
袁:yuan:4 潘:pan:4 于:yu:4 蒋:jiang:4 蔡:cai:4 余:yu:4 杜:du:4 叶:ye:4 程:cheng:4 苏:su:3
魏:wei:3 吕:lv:3 丁:ding:3 任:ren:3 沈:shen:3 姚:yao:3 卢:lu:3 姜:jiang:3 崔:cui:3 钟:zhong:3
谭:tan:3 陆:lu:3 汪:wang:3 范:fan:3 金:jin:3 石:shi:3 廖:liao:3 贾:jia:3 夏:xia:2 韦:wei:2
付:fu:2 方:fang:2 白:bai:2 邹:zou:2 孟:meng:2 熊:xiong:2 秦:qin:2 邱:qiu:2 江:jiang:2 尹:yin:2
薛:xue:2 闫:yan:2 段:duan:2 雷:lei:2 侯:hou:2 龙:long:2 史:shi:2 陶:tao:1 黎:li:1 贺:he:1
顾:gu:1 毛:mao:1 郝:hao:1 龚:gong:1 邵:shao:1 万:wan:1 钱:qian:1 严:yan:1 覃:qin:1 武:wu:1
戴:dai:1 莫:mo:1 孔:kong:1 向:xiang:1 汤:tang:1 欧阳:ouyang:0.5 上官:shangguan:0.1 司马:sima:0.1
"""


def _parse_surnames(text: str) -> list[tuple[str, str, float]]:
    rows = []
    for item in text.split():
        hanzi, pinyin, weight = item.split(":")
        rows.append((hanzi, pinyin, float(weight)))
    return rows


SURNAMES: list[tuple[str, str, float]] = _parse_surnames(_SURNAMES)


def _words(text: str) -> list[str]:
    return text.split()


# Given-name characters grouped by pinyin (tones ignored): every group is a set of homophones that
# a clerk typing from speech can confuse (王伟 / 王玮 / 王薇). The first character of a group is the
# most common one in names.
HOMOPHONES: dict[str, str] = {
    "wei": "伟玮威薇维炜卫",
    "li": "丽莉立俐力",
    "jing": "静晶婧菁京",
    "ling": "玲铃灵凌",
    "ting": "婷亭庭霆",
    "jie": "杰洁婕捷",
    "ming": "明铭鸣",
    "hui": "辉慧惠晖卉",
    "jun": "军俊君骏",
    "yan": "艳燕妍彦岩",
    "hua": "华桦骅",
    "fang": "芳方舫",
    "na": "娜纳",
    "min": "敏民珉",
    "xin": "鑫欣新馨心",
    "yu": "宇雨玉瑜羽煜",
    "hao": "浩昊皓豪",
    "feng": "峰锋凤枫丰",
    "tao": "涛韬",
    "qiang": "强蔷",
    "lei": "磊蕾雷",
    "yong": "勇永咏",
    "bin": "斌彬滨",
    "bo": "波博柏",
    "peng": "鹏朋",
    "jia": "佳家嘉",
    "yi": "怡毅一艺宜",
    "chao": "超朝",
    "gang": "刚钢港",
    "ping": "平萍苹",
    "xia": "霞侠",
    "mei": "梅美玫",
    "juan": "娟涓鹃",
    "ying": "英颖莹影",
    "hong": "红宏虹鸿",
    "qian": "倩茜谦",
    "xue": "雪学",
    "lin": "林琳霖麟",
    "tian": "天甜",
    "chen": "晨辰琛",
    "han": "涵晗翰",
    "xuan": "轩萱璇宣",
    "rui": "睿瑞蕊",
    "zi": "子梓紫姿",
    "yue": "悦月越岳",
    "lu": "璐露路鹭",
    "si": "思斯丝",
    "jian": "建健剑坚",
    "guo": "国果",
    "long": "龙隆",
    "kai": "凯恺楷",
    "dong": "东冬栋",
    "fei": "飞菲斐",
    "xiu": "秀修",
    "shi": "诗施",
    "wen": "文雯闻",
    "qi": "琪琦奇祺",
    "yao": "瑶遥尧",
    "tong": "彤桐童",
    "gui": "桂贵",
    "lan": "兰岚澜",
    "zhi": "志智",
    "cheng": "成诚程",
    "ran": "然冉",
    "shuai": "帅",
    "xu": "旭煦",
    "ning": "宁凝",
    "yang": "阳洋扬",
    "liang": "亮良",
    "hai": "海",
    "qing": "庆清青",
    "zhen": "振珍",
    "chun": "春纯",
    "sheng": "生胜",
    "de": "德",
    "fu": "福富",
    "guang": "光广",
    "jin": "金锦晋",
    "bing": "兵冰",
    "zhong": "中忠",
    "yun": "云芸",
    "xiao": "晓潇",
    "qin": "琴勤",
    "meng": "梦萌",
    "dan": "丹",
    "wan": "婉",
    "shu": "淑舒",
    "rong": "荣蓉",
    "kun": "坤",
    "da": "达",
    "ze": "泽则",
}

# Pinyin of every character above (and of the surnames) for romanisation and e-mail local parts.
PINYIN: dict[str, str] = {ch: py for py, chars in HOMOPHONES.items() for ch in chars}

# Single characters usable in generated given names, by gender (all must be in PINYIN).
MALE_CHARS = (
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帅旭宁龙林阳建国峰亮成志文"
    "海东晨博轩睿泽子然天一家嘉毅坤锋铭达荣庆永振立新春生德福贵光金兵良中云晓"
)
FEMALE_CHARS = (
    "芳娜敏静丽艳娟霞秀英桂玲婷燕红梅琳雪慧颖洁莉倩璐佳欣怡"
    "萍兰凤月晶琴雯薇蕾思雨梦诗涵悦彤瑶琪妍丹露晓婉淑美蓉婧"
)

# The most common complete given names with rough weights: these make 王伟, 张伟, 李娜 and 王芳
# recur in the data as they do in any real Chinese customer list.
COMMON_MALE_GIVEN: dict[str, float] = {
    "伟": 30, "勇": 12, "军": 12, "磊": 12, "强": 12, "涛": 10, "杰": 10, "斌": 8, "超": 8,
    "明": 8, "刚": 8, "平": 6, "辉": 6, "鹏": 6, "华": 6, "飞": 5, "鑫": 5, "波": 5, "宇": 5,
    "浩": 5, "建华": 4, "建国": 3, "志强": 4, "俊杰": 4, "子轩": 3, "浩然": 3, "宇轩": 3,
}  # fmt: skip
COMMON_FEMALE_GIVEN: dict[str, float] = {
    "芳": 20, "娜": 18, "敏": 16, "静": 16, "丽": 14, "艳": 12, "娟": 10, "霞": 10, "秀英": 10,
    "桂英": 8, "玲": 8, "婷": 8, "燕": 6, "红": 6, "梅": 6, "丽娟": 4, "秀兰": 4, "欣怡": 3,
    "梓涵": 2, "诗涵": 3, "雨欣": 2,
}  # fmt: skip

# Simplified → traditional for the characters the generator uses (pairs "简繁"); characters that
# are the same in both scripts are simply absent.
_TRADITIONAL_PAIRS = """
张張 伟偉 刘劉 陈陳 杨楊 黄黃 赵趙 吴吳 孙孫 马馬 罗羅 郑鄭 谢謝 许許 韩韓 冯馮 邓鄧 蒋蔣 叶葉
苏蘇 吕呂 卢盧 钟鍾 谭譚 陆陸 贾賈 韦韋 邹鄒 龙龍 顾顧 龚龔 钱錢 严嚴 汤湯 万萬 欧歐 闫閆 薛薛
丽麗 军軍 杰傑 涛濤 强強 刚剛 辉輝 鹏鵬 华華 飞飛 宁寧 国國 东東 晓曉 静靜 艳艷 凤鳳 兰蘭 红紅
颖穎 洁潔 庆慶 荣榮 贵貴 长長 云雲 锋鋒 铭銘 达達 书書 宾賓 梦夢 诗詩 悦悅 丰豐 鸿鴻 骏駿 晖暉
钢鋼 苹蘋 丝絲 剑劍 坚堅 栋棟 韬韜 蔷薔 纳納 铃鈴 灵靈 卫衛 维維 炜煒 闻聞 学學 侠俠 鹃鵑 莹瑩
谦謙 恺愷 鹭鷺 轩軒 凯凱 鸣鳴 兴興 汇匯 润潤 腾騰 恒恆 远遠 诚誠 众眾 网網 电電 贸貿 实實 业業
机機 医醫 疗療 传傳 环環 节節 筑築 资資 询詢 团團 广廣 锡錫 门門 连連 阳陽 无無 厦廈 汉漢 济濟
岛島 圣聖 园園 铁鐵 车車 农農 药藥 乐樂 发發 宝寶 鑫鑫 浩浩 涵涵 萱萱 璐璐 滨濱 岚嵐 澜瀾 潇瀟
纯純 胜勝 锦錦 晋晉 忠忠 芸蕓 勤勤 婧婧 淑淑 蓉蓉 冲衝 养養 饮飲 设設 备備 装裝 筹籌 务務 体體
软軟 件件 数數 据據 智智 创創 讯訊 联聯 盛盛 泰泰 航航 恒恆 晟晟 隆隆 协協 鼎鼎 宏宏 达達
"""
TRADITIONAL: dict[str, str] = {
    pair[0]: pair[1] for pair in _TRADITIONAL_PAIRS.split() if pair[0] != pair[1]
}

# Western first names by gender, most common first (US census order); weights come from the rank.
WESTERN_MALE = """
James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel Matthew
Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward
Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin
Samuel Gregory Alexander Frank Patrick Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan
Henry Douglas Zachary Peter Kyle Ethan Walter Noah Jeremy Christian Keith Roger Terry Gerald Harold
Sean Austin Carl Arthur Lawrence Dylan Jesse Jordan Bryan Billy Joe Bruce Gabriel Logan Albert
Willie Alan Juan Wayne Elijah Randy Roy Vincent Ralph Eugene Russell Bobby Mason Philip Louis
Frederick Lucas Oliver
"""
WESTERN_FEMALE = """
Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Margaret
Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah Stephanie Rebecca
Sharon Laura Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma Nicole Helen Samantha
Katherine Christine Debra Rachel Carolyn Janet Catherine Maria Heather Diane Ruth Julie Olivia
Joyce Virginia Victoria Kelly Lauren Christina Joan Evelyn Judith Megan Andrea Cheryl Hannah
Jacqueline Martha Gloria Teresa Ann Sara Madison Frances Kathryn Janice Jean Abigail Alice Judy
Sophia Grace Denise Amber Doris Marilyn Danielle Beverly Isabella Theresa Diana Natalie Brittany
Charlotte Marie Kayla Alexis Lori Alexandra
"""
WESTERN_LAST = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams
Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker
Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper
Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James
Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster
Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher
Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno
West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall
Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb
Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason
Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren
Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne
Grant Dunn Kelley Spencer Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight Elliott
O'Brien O'Connor McCarthy Fitzgerald Schneider Mueller
"""

# Formal given name → the short forms people sign e-mails with (Bob Smith = Robert Smith).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Bobby"), "William": ("Bill", "Will", "Billy"),
    "Elizabeth": ("Liz", "Beth", "Betty"), "James": ("Jim", "Jimmy", "Jamie"),
    "Michael": ("Mike", "Mikey"), "Richard": ("Rick", "Dick", "Rich"), "Thomas": ("Tom", "Tommy"),
    "Christopher": ("Chris",), "Daniel": ("Dan", "Danny"), "Matthew": ("Matt",),
    "Anthony": ("Tony",), "Joseph": ("Joe", "Joey"), "Charles": ("Charlie", "Chuck"),
    "David": ("Dave",), "Steven": ("Steve",), "Stephen": ("Steve",), "Andrew": ("Andy", "Drew"),
    "Joshua": ("Josh",), "Kenneth": ("Ken", "Kenny"), "Edward": ("Ed", "Ted", "Eddie"),
    "Ronald": ("Ron", "Ronnie"), "Timothy": ("Tim",), "Jeffrey": ("Jeff",), "Nicholas": ("Nick",),
    "Benjamin": ("Ben",), "Samuel": ("Sam",), "Alexander": ("Alex",), "Jonathan": ("Jon",),
    "Gregory": ("Greg",), "Patrick": ("Pat",), "Raymond": ("Ray",), "Lawrence": ("Larry",),
    "Gerald": ("Jerry",), "Douglas": ("Doug",), "Peter": ("Pete",), "Frederick": ("Fred",),
    "Zachary": ("Zach",), "Jennifer": ("Jen", "Jenny"), "Katherine": ("Kate", "Katie", "Kathy"),
    "Margaret": ("Maggie", "Peggy"), "Patricia": ("Pat", "Patty"), "Susan": ("Sue", "Susie"),
    "Deborah": ("Debbie", "Deb"), "Rebecca": ("Becky",), "Jessica": ("Jess", "Jessie"),
    "Victoria": ("Vicky", "Tori"), "Christine": ("Chris", "Chrissy"), "Kimberly": ("Kim",),
    "Cynthia": ("Cindy",), "Pamela": ("Pam",), "Samantha": ("Sam", "Sammy"),
    "Abigail": ("Abby",), "Alexandra": ("Alex",), "Barbara": ("Barb",), "Dorothy": ("Dot",),
    "Judith": ("Judy",), "Catherine": ("Cathy", "Kate"), "Jacqueline": ("Jackie",),
}  # fmt: skip

# Chinese cities: name, pinyin (for e-mail domains), telephone area code, subscriber digits, weight.
CN_CITIES: list[tuple[str, str, str, int, float]] = [
    ("北京", "beijing", "010", 8, 14), ("上海", "shanghai", "021", 8, 14),
    ("广州", "guangzhou", "020", 8, 10), ("深圳", "shenzhen", "0755", 8, 12),
    ("杭州", "hangzhou", "0571", 8, 7), ("成都", "chengdu", "028", 8, 6),
    ("武汉", "wuhan", "027", 8, 5), ("南京", "nanjing", "025", 8, 5),
    ("天津", "tianjin", "022", 8, 4), ("重庆", "chongqing", "023", 8, 4),
    ("西安", "xi'an", "029", 8, 4), ("苏州", "suzhou", "0512", 8, 5),
    ("东莞", "dongguan", "0769", 8, 4), ("青岛", "qingdao", "0532", 8, 3),
    ("厦门", "xiamen", "0592", 7, 3), ("长沙", "changsha", "0731", 8, 3),
    ("宁波", "ningbo", "0574", 8, 3), ("郑州", "zhengzhou", "0371", 8, 3),
    ("佛山", "foshan", "0757", 8, 3), ("合肥", "hefei", "0551", 8, 2),
    ("济南", "jinan", "0531", 8, 2), ("无锡", "wuxi", "0510", 8, 2),
    ("福州", "fuzhou", "0591", 8, 2), ("大连", "dalian", "0411", 8, 2),
    ("沈阳", "shenyang", "024", 8, 2), ("昆明", "kunming", "0871", 8, 2),
]  # fmt: skip

# Chinese mobile prefixes in use (the first three digits), with rough shares.
CN_MOBILE_PREFIXES: dict[str, float] = {
    **{f"13{d}": 6.0 for d in "0123456789"},
    **{f"15{d}": 4.0 for d in "0123589"},
    **{f"18{d}": 4.0 for d in "0123456789"},
    **{f"17{d}": 1.5 for d in "3678"},
    **{f"19{d}": 1.5 for d in "135789"},
    "145": 0.5, "147": 0.8, "166": 1.0,
}  # fmt: skip

# US cities with real area codes (several where a city has overlays), weight.
US_CITIES: list[tuple[str, tuple[str, ...], float]] = [
    ("New York", ("212", "646", "718", "917"), 10), ("San Francisco", ("415", "628"), 6),
    ("Boston", ("617", "857"), 4), ("Chicago", ("312", "773"), 6), ("Seattle", ("206",), 4),
    ("Los Angeles", ("213", "310", "323"), 7), ("Austin", ("512", "737"), 3),
    ("Miami", ("305", "786"), 3), ("Atlanta", ("404", "678"), 3), ("Denver", ("303", "720"), 3),
    ("Dallas", ("214", "469"), 3), ("Houston", ("713", "832"), 3), ("Washington", ("202",), 3),
    ("Philadelphia", ("215", "267"), 3), ("San Diego", ("619", "858"), 2),
    ("San Jose", ("408", "669"), 3), ("Portland", ("503", "971"), 2), ("Phoenix", ("602",), 2),
]  # fmt: skip

# Chinese company names: city + 2-character brand + industry word + legal form.
CN_BRAND_CHARS: dict[str, str] = {
    "华": "hua", "中": "zhong", "新": "xin", "盛": "sheng", "达": "da", "信": "xin", "通": "tong",
    "联": "lian", "创": "chuang", "宏": "hong", "源": "yuan", "鑫": "xin", "泰": "tai",
    "恒": "heng", "丰": "feng", "瑞": "rui", "锦": "jin", "博": "bo", "远": "yuan", "天": "tian",
    "海": "hai", "金": "jin", "力": "li", "诚": "cheng", "德": "de", "祥": "xiang", "宇": "yu",
    "佳": "jia", "合": "he", "安": "an", "兴": "xing", "美": "mei", "康": "kang", "众": "zhong",
    "睿": "rui", "智": "zhi", "云": "yun", "星": "xing", "辰": "chen", "腾": "teng", "飞": "fei",
    "航": "hang", "汇": "hui", "隆": "long", "润": "run", "晟": "sheng", "鼎": "ding", "卓": "zhuo",
    "越": "yue", "讯": "xun", "益": "yi", "立": "li", "东": "dong", "方": "fang", "正": "zheng",
}  # fmt: skip
# Industry word in the company name → the industry field (zh, en).
CN_INDUSTRY_WORDS: list[tuple[str, str, float]] = [
    ("科技", "信息技术", 20), ("电子", "电子制造", 8), ("网络科技", "互联网", 8),
    ("信息技术", "信息技术", 6), ("贸易", "批发零售", 10), ("实业", "制造业", 6),
    ("机械", "机械设备", 6), ("建材", "建筑建材", 4), ("医疗器械", "医疗健康", 4),
    ("生物科技", "医疗健康", 3), ("食品", "食品饮料", 4), ("服装", "纺织服装", 3),
    ("物流", "交通物流", 4), ("文化传媒", "文化传媒", 4), ("教育科技", "教育培训", 3),
    ("环保科技", "环保", 2), ("新能源", "能源", 3), ("建筑工程", "建筑建材", 3),
    ("投资", "金融", 2), ("咨询", "专业服务", 3), ("软件", "软件", 5), ("数据科技", "软件", 2),
]  # fmt: skip
CN_LEGAL_FORMS: list[tuple[str, float]] = [
    ("有限公司", 75), ("股份有限公司", 15), ("集团有限公司", 7), ("集团", 3),
]  # fmt: skip

EN_BRANDS = """
Acme Globex Initech Umbrella Vandelay Hooli Wayne Stark Cyberdyne Soylent Apex Summit Pinnacle
Nova Atlas Orion Vertex Zenith Horizon Cascade Granite Cedar Maple Harbor Beacon Pioneer Frontier
Liberty Eagle Falcon Silverline Bluewater Redwood Ironclad Brightpath Northwind Everest Keystone
Lighthouse Meridian Sterling Crescent Evergreen Riverside Oakridge Westfield Crestview Lakeshore
Bluebird Quantum Vector Catalyst Fusion Synergy Momentum Paragon Sentinel Titan Aurora Polaris
"""
EN_INDUSTRY_WORDS: list[tuple[str, str, float]] = [
    ("", "Manufacturing", 25), ("Systems", "Software", 8), ("Labs", "Biotech", 5),
    ("Logistics", "Logistics", 6), ("Foods", "Food & Beverage", 5), ("Health", "Healthcare", 5),
    ("Solutions", "IT Services", 8), ("Analytics", "Software", 4), ("Works", "Manufacturing", 4),
    ("Partners", "Consulting", 5), ("Capital", "Finance", 4), ("Energy", "Energy", 4),
    ("Robotics", "Industrial Automation", 3), ("Software", "Software", 6), ("Media", "Media", 3),
    ("Retail", "Retail", 4), ("Construction", "Construction", 3), ("Design", "Design", 2),
]  # fmt: skip
# Legal suffix → the variants the same company is written with elsewhere.
EN_LEGAL_FORMS: dict[str, tuple[float, tuple[str, ...]]] = {
    "Inc.": (40, ("Inc", "Incorporated", ", Inc.", "INC")),
    "LLC": (25, ("L.L.C.", "Llc", ", LLC")),
    "Ltd.": (12, ("Limited", "Ltd", "LTD")),
    "GmbH": (6, ("GMBH", "Gmbh")),
    "Corp.": (17, ("Corporation", "Corp", "Co.")),
}

STATUS_WEIGHTS: dict[str, float] = {"lead": 45, "prospect": 25, "customer": 20, "lost": 10}
STATUS_ZH: dict[str, str] = {
    "lead": "潜在客户", "prospect": "意向客户", "customer": "成交客户", "lost": "流失客户",
}  # fmt: skip
GRADE_WEIGHTS: dict[str, float] = {"A": 15, "B": 35, "C": 50}

SOURCES_ZH: dict[str, float] = {
    "展会": 18, "转介绍": 16, "官网": 14, "电话营销": 12, "百度推广": 8, "微信": 10, "老客户": 6,
    "招投标": 4, "阿里巴巴": 6, "地推": 3, "抖音": 3,
}  # fmt: skip
SOURCES_EN: dict[str, float] = {
    "trade show": 18, "referral": 20, "website": 18, "cold call": 12, "LinkedIn": 10,
    "webinar": 6, "partner": 6, "inbound email": 5, "Google Ads": 5,
}  # fmt: skip

TAGS_ZH = _words("""
重点客户 老客户 需回访 价格敏感 大客户 意向强 已报价 待签约 渠道商
政府项目 VIP 决策人
""")
TAGS_EN = [
    "vip", "key-account", "price-sensitive", "decision-maker", "renewal", "upsell", "partner",
    "follow-up", "enterprise", "smb", "reseller",
]  # fmt: skip

PRODUCTS_ZH = _words("""
服务器 办公软件 工业传感器 包装材料 会员系统 CRM系统 LED屏 数控机床
检测仪器 培训课程 物流服务 云存储
""")
PRODUCTS_EN = [
    "servers", "office licences", "industrial sensors", "packaging", "a loyalty platform",
    "CRM seats", "LED displays", "CNC machines", "test equipment", "training",
    "freight services", "cloud storage",
]  # fmt: skip

NEEDS_ZH = _words("""
需要采购一批{p} 想了解{p}的价格 年底前更换{p} 对{p}有长期需求
在比较几家{p}供应商
""")
NEEDS_EN = [
    "Looking for {p}", "Wants a quote for {p}", "Replacing {p} before year end",
    "Long-term need for {p}", "Comparing {p} vendors",
]  # fmt: skip

NOTES_ZH = _words("""
客户说下个月有预算 决策人是老板本人 上次报价偏高 对售后要求高
需要开增值税专票 喜欢微信沟通 周五下午不方便 老客户介绍来的 有竞争对手在跟进
预计下季度采购
""")
NOTES_EN = [
    "Budget opens next month", "Owner makes the decision", "Our last quote was too high",
    "Cares a lot about support", "Prefers email", "Not available Friday afternoons",
    "Referred by an existing customer", "A competitor is also talking to them",
    "Expects to buy next quarter",
]  # fmt: skip

CHANNEL_WEIGHTS: dict[str, float] = {
    "call": 40, "message": 20, "email": 15, "meeting": 10, "visit": 5, "note": 10,
}  # fmt: skip
TOPICS_ZH = _words("""
报价 产品演示 合同条款 交付时间 售后服务 付款方式 样品 续约 技术方案
价格
""")
TOPICS_EN = [
    "the quote", "a product demo", "contract terms", "delivery dates", "support",
    "payment terms", "samples", "renewal", "the technical proposal", "pricing",
]  # fmt: skip
REACTIONS_ZH = _words("""
客户比较感兴趣 需要再考虑 要求降价 已确认 暂无需求 下周回复 需要内部审批
很满意
""")
REACTIONS_EN = [
    "interested", "needs time to think", "asked for a discount", "confirmed",
    "no need right now", "will reply next week", "needs internal approval", "very happy",
]  # fmt: skip
SUMMARY_ZH: dict[str, list[str]] = {
    "call": ["电话沟通{t}，{r}", "打电话确认{t}，{r}", "电话未接通，稍后再打"],
    "message": ["微信聊了{t}，{r}", "发短信提醒{t}", "微信发了{t}资料"],
    "email": ["发邮件介绍{t}", "邮件回复了{t}的问题，{r}", "发送{t}邮件"],
    "meeting": ["开会讨论{t}，{r}", "线上会议演示，{r}"],
    "visit": ["上门拜访，谈了{t}，{r}", "客户来公司参观，{r}"],
    "note": ["备注：{t}待跟进", "客户反馈：{r}"],
}  # fmt: skip
SUMMARY_EN: dict[str, list[str]] = {
    "call": ["Called about {t}; {r}", "Phone call re {t}: {r}", "Left a voicemail"],
    "message": ["Texted about {t}", "Messaged re {t}; {r}"],
    "email": ["Sent an email about {t}", "Replied to questions on {t}; {r}", "Emailed {t}"],
    "meeting": ["Meeting on {t}; {r}", "Video call demo; {r}"],
    "visit": ["Site visit, discussed {t}; {r}", "They visited our office; {r}"],
    "note": ["Note: follow up on {t}", "Feedback: {r}"],
}  # fmt: skip
OUTCOMES_ZH = ["有意向", "待报价", "已成交", "无进展", "已拒绝"]
OUTCOMES_EN = ["interested", "quote pending", "won", "no progress", "declined"]

EMAIL_DOMAINS_ZH: dict[str, float] = {
    "qq.com": 30, "163.com": 20, "126.com": 8, "sina.com": 5, "foxmail.com": 5, "gmail.com": 4,
    "outlook.com": 3, "hotmail.com": 2, "139.com": 2, "aliyun.com": 1,
}  # fmt: skip
EMAIL_DOMAINS_EN: dict[str, float] = {
    "gmail.com": 40, "yahoo.com": 12, "outlook.com": 12, "hotmail.com": 8, "icloud.com": 8,
    "aol.com": 3, "protonmail.com": 2, "comcast.net": 2,
}  # fmt: skip

# Keyboard neighbours for Latin typos (one edit that a hurried typist makes).
KEYBOARD_NEIGHBOURS: dict[str, str] = {
    "a": "sqz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}  # fmt: skip
