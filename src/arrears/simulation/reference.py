"""Reference tables for synthetic portfolios: real region codes, carrier prefixes, area codes, calibrations.

Small on purpose: enough variety for realistic files, every entry checkable by hand.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CnRegion:
    code: str  # 6-digit administrative division code (GB/T 2260)
    province: str
    city: str
    district: str
    weight: float  # rough share of consumer-credit borrowers


# Real county-level codes; weights follow province population and credit activity, roughly.
CN_REGIONS: tuple[CnRegion, ...] = (
    CnRegion("110101", "北京市", "北京市", "东城区", 0.6),
    CnRegion("110105", "北京市", "北京市", "朝阳区", 1.2),
    CnRegion("110108", "北京市", "北京市", "海淀区", 1.0),
    CnRegion("120101", "天津市", "天津市", "和平区", 0.5),
    CnRegion("120104", "天津市", "天津市", "南开区", 0.6),
    CnRegion("130102", "河北省", "石家庄市", "长安区", 3.0),
    CnRegion("140105", "山西省", "太原市", "小店区", 1.6),
    CnRegion("150102", "内蒙古自治区", "呼和浩特市", "新城区", 1.1),
    CnRegion("210102", "辽宁省", "沈阳市", "和平区", 1.3),
    CnRegion("210202", "辽宁省", "大连市", "中山区", 1.0),
    CnRegion("220102", "吉林省", "长春市", "南关区", 1.2),
    CnRegion("230102", "黑龙江省", "哈尔滨市", "道里区", 1.5),
    CnRegion("310101", "上海市", "上海市", "黄浦区", 0.5),
    CnRegion("310104", "上海市", "上海市", "徐汇区", 0.8),
    CnRegion("310115", "上海市", "上海市", "浦东新区", 1.5),
    CnRegion("320102", "江苏省", "南京市", "玄武区", 1.6),
    CnRegion("320214", "江苏省", "无锡市", "新吴区", 1.0),
    CnRegion("320506", "江苏省", "苏州市", "吴中区", 1.8),
    CnRegion("330106", "浙江省", "杭州市", "西湖区", 1.9),
    CnRegion("330203", "浙江省", "宁波市", "海曙区", 1.1),
    CnRegion("330302", "浙江省", "温州市", "鹿城区", 1.0),
    CnRegion("340104", "安徽省", "合肥市", "蜀山区", 2.7),
    CnRegion("350102", "福建省", "福州市", "鼓楼区", 1.3),
    CnRegion("350203", "福建省", "厦门市", "思明区", 1.0),
    CnRegion("360102", "江西省", "南昌市", "东湖区", 2.0),
    CnRegion("370102", "山东省", "济南市", "历下区", 2.5),
    CnRegion("370202", "山东省", "青岛市", "市南区", 2.0),
    CnRegion("410105", "河南省", "郑州市", "金水区", 3.4),
    CnRegion("410305", "河南省", "洛阳市", "涧西区", 1.5),
    CnRegion("420106", "湖北省", "武汉市", "武昌区", 1.5),
    CnRegion("420111", "湖北省", "武汉市", "洪山区", 1.5),
    CnRegion("430102", "湖南省", "长沙市", "芙蓉区", 1.4),
    CnRegion("430104", "湖南省", "长沙市", "岳麓区", 1.6),
    CnRegion("440103", "广东省", "广州市", "荔湾区", 1.2),
    CnRegion("440106", "广东省", "广州市", "天河区", 2.0),
    CnRegion("440304", "广东省", "深圳市", "福田区", 1.6),
    CnRegion("440305", "广东省", "深圳市", "南山区", 1.6),
    CnRegion("440604", "广东省", "佛山市", "禅城区", 1.2),
    CnRegion("441900", "广东省", "东莞市", "", 1.8),
    CnRegion("450103", "广西壮族自治区", "南宁市", "青秀区", 2.1),
    CnRegion("460105", "海南省", "海口市", "秀英区", 0.6),
    CnRegion("500103", "重庆市", "重庆市", "渝中区", 1.0),
    CnRegion("500106", "重庆市", "重庆市", "沙坪坝区", 1.3),
    CnRegion("510104", "四川省", "成都市", "锦江区", 1.8),
    CnRegion("510107", "四川省", "成都市", "武侯区", 2.0),
    CnRegion("520102", "贵州省", "贵阳市", "南明区", 1.6),
    CnRegion("530102", "云南省", "昆明市", "五华区", 1.9),
    CnRegion("540102", "西藏自治区", "拉萨市", "城关区", 0.2),
    CnRegion("610113", "陕西省", "西安市", "雁塔区", 2.3),
    CnRegion("620102", "甘肃省", "兰州市", "城关区", 1.0),
    CnRegion("630102", "青海省", "西宁市", "城东区", 0.3),
    CnRegion("640104", "宁夏回族自治区", "银川市", "兴庆区", 0.4),
    CnRegion("650102", "新疆维吾尔自治区", "乌鲁木齐市", "天山区", 1.0),
)

# Street names found in nearly every Chinese city.
CN_STREETS: tuple[str, ...] = (
    "人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "文化路", "胜利路", "长江路", "黄河路",
    "朝阳路", "青年路", "友谊路", "光明路", "学府路", "花园路", "滨江路", "迎宾大道", "世纪大道", "工业大道",
    "东风路", "复兴路", "健康路", "幸福路", "北京路", "南京路", "上海路", "湖滨路", "东大街", "西大街",
)  # fmt: skip
CN_COMPOUNDS: tuple[str, ...] = (
    "阳光花园", "锦绣家园", "幸福小区", "翠湖苑", "金色家园", "书香门第", "绿城花园", "碧桂园", "万科城",
    "保利花园", "恒大名都", "丽景苑", "东方明珠苑", "滨江华府", "紫薇苑", "和谐家园",
)  # fmt: skip

# Mainland mobile prefixes of the three carriers (China Mobile, China Unicom, China Telecom, and the
# 19x/16x ranges), weighted towards the older, most widely held ranges.
CN_MOBILE_PREFIXES: tuple[tuple[str, float], ...] = (
    ("134", 2.0), ("135", 3.5), ("136", 3.5), ("137", 3.5), ("138", 4.5), ("139", 4.5), ("147", 0.8),
    ("150", 3.0), ("151", 2.5), ("152", 2.5), ("157", 1.5), ("158", 3.0), ("159", 3.0), ("178", 1.5),
    ("182", 2.5), ("183", 2.0), ("184", 0.8), ("187", 2.5), ("188", 2.5), ("198", 1.5),
    ("130", 2.5), ("131", 2.5), ("132", 2.5), ("145", 0.5), ("155", 2.0), ("156", 2.0), ("166", 1.5),
    ("175", 1.0), ("176", 1.5), ("185", 2.5), ("186", 3.0),
    ("133", 2.0), ("153", 2.0), ("173", 1.2), ("177", 1.8), ("180", 2.0), ("181", 2.0), ("189", 2.5),
    ("191", 1.0), ("199", 1.5),
)  # fmt: skip

CN_EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("163.com", 0.35), ("126.com", 0.15), ("sina.com", 0.1), ("139.com", 0.1), ("foxmail.com", 0.1),
    ("outlook.com", 0.1), ("aliyun.com", 0.05), ("sohu.com", 0.05),
)  # fmt: skip

# Emergency-contact relations: (label, gender of the contact: M/F/"" any, shares the debtor's surname).
# "spouse" gets the debtor's opposite gender.
CN_RELATIONS: tuple[tuple[str, str, bool, float], ...] = (
    ("配偶", "spouse", False, 0.30),
    ("父亲", "M", True, 0.14),
    ("母亲", "F", False, 0.16),
    ("兄弟", "M", True, 0.07),
    ("姐妹", "F", True, 0.07),
    ("子女", "", True, 0.04),
    ("朋友", "", False, 0.14),
    ("同事", "", False, 0.08),
)
US_RELATIONS: tuple[tuple[str, str, bool, float], ...] = (
    ("spouse", "spouse", True, 0.32),
    ("parent", "", True, 0.24),
    ("sibling", "", True, 0.14),
    ("child", "", True, 0.04),
    ("friend", "", False, 0.18),
    ("coworker", "", False, 0.08),
)

CN_PRODUCT_LABELS: dict[str, str] = {
    "consumer_loan": "消费贷款",
    "credit_card": "信用卡",
    "business_receivable": "应收账款",
}


@dataclass(frozen=True)
class UsCity:
    city: str
    state: str
    zips: tuple[str, ...]
    area_codes: tuple[str, ...]
    timezone: str  # IANA zone of the city
    weight: float  # rough population share


US_CITIES: tuple[UsCity, ...] = (
    UsCity("New York", "NY", ("10001", "10016", "10025"), ("212", "646"), "America/New_York", 6.0),
    UsCity("Brooklyn", "NY", ("11201", "11215"), ("718", "347"), "America/New_York", 3.0),
    UsCity("Boston", "MA", ("02108", "02116"), ("617",), "America/New_York", 1.5),
    UsCity("Philadelphia", "PA", ("19103", "19143"), ("215", "267"), "America/New_York", 2.2),
    UsCity("Baltimore", "MD", ("21201", "21218"), ("410", "443"), "America/New_York", 1.2),
    UsCity("Washington", "DC", ("20001", "20009"), ("202",), "America/New_York", 1.2),
    UsCity("Charlotte", "NC", ("28202", "28205"), ("704",), "America/New_York", 1.5),
    UsCity("Atlanta", "GA", ("30303", "30318"), ("404", "678"), "America/New_York", 2.5),
    UsCity("Miami", "FL", ("33130", "33137"), ("305", "786"), "America/New_York", 2.5),
    UsCity("Orlando", "FL", ("32801", "32806"), ("407",), "America/New_York", 1.6),
    UsCity("Columbus", "OH", ("43201", "43215"), ("614",), "America/New_York", 1.4),
    UsCity("Detroit", "MI", ("48201", "48226"), ("313",), "America/Detroit", 1.8),
    UsCity("Indianapolis", "IN", ("46204", "46220"), ("317",), "America/Indiana/Indianapolis", 1.3),
    UsCity("Louisville", "KY", ("40202", "40204"), ("502",), "America/Kentucky/Louisville", 0.8),
    UsCity("Chicago", "IL", ("60601", "60614", "60657"), ("312", "773"), "America/Chicago", 4.0),
    UsCity("Milwaukee", "WI", ("53202", "53204"), ("414",), "America/Chicago", 0.9),
    UsCity("Minneapolis", "MN", ("55401", "55403"), ("612",), "America/Chicago", 1.2),
    UsCity("St. Louis", "MO", ("63101", "63110"), ("314",), "America/Chicago", 1.0),
    UsCity("Kansas City", "MO", ("64105", "64111"), ("816",), "America/Chicago", 0.9),
    UsCity("Omaha", "NE", ("68102", "68105"), ("402",), "America/Chicago", 0.5),
    UsCity("Nashville", "TN", ("37203", "37206"), ("615",), "America/Chicago", 1.0),
    UsCity("Birmingham", "AL", ("35203", "35205"), ("205",), "America/Chicago", 0.6),
    UsCity("New Orleans", "LA", ("70112", "70115"), ("504",), "America/Chicago", 0.6),
    UsCity("Houston", "TX", ("77002", "77006"), ("713", "832"), "America/Chicago", 3.2),
    UsCity("Dallas", "TX", ("75201", "75204"), ("214", "469"), "America/Chicago", 3.0),
    UsCity("San Antonio", "TX", ("78205", "78209"), ("210",), "America/Chicago", 1.3),
    UsCity("Austin", "TX", ("78701", "78704"), ("512",), "America/Chicago", 1.2),
    UsCity("Denver", "CO", ("80202", "80205"), ("303", "720"), "America/Denver", 1.5),
    UsCity("Salt Lake City", "UT", ("84101", "84111"), ("801",), "America/Denver", 0.8),
    UsCity("Albuquerque", "NM", ("87102", "87106"), ("505",), "America/Denver", 0.5),
    UsCity("Boise", "ID", ("83702", "83706"), ("208",), "America/Boise", 0.4),
    UsCity("Phoenix", "AZ", ("85004", "85016"), ("602", "480"), "America/Phoenix", 2.2),
    UsCity("Tucson", "AZ", ("85701", "85719"), ("520",), "America/Phoenix", 0.5),
    UsCity("Las Vegas", "NV", ("89101", "89109"), ("702",), "America/Los_Angeles", 1.1),
    UsCity("Los Angeles", "CA", ("90012", "90026"), ("213", "323"), "America/Los_Angeles", 5.5),
    UsCity("San Diego", "CA", ("92101", "92104"), ("619",), "America/Los_Angeles", 1.6),
    UsCity("San Francisco", "CA", ("94103", "94110"), ("415",), "America/Los_Angeles", 1.3),
    UsCity("Sacramento", "CA", ("95814", "95816"), ("916",), "America/Los_Angeles", 1.0),
    UsCity("Portland", "OR", ("97201", "97205"), ("503",), "America/Los_Angeles", 1.0),
    UsCity("Seattle", "WA", ("98101", "98109"), ("206",), "America/Los_Angeles", 1.5),
    UsCity("Anchorage", "AK", ("99501", "99503"), ("907",), "America/Anchorage", 0.2),
    UsCity("Honolulu", "HI", ("96813", "96814"), ("808",), "Pacific/Honolulu", 0.3),
)

US_EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 0.45), ("yahoo.com", 0.18), ("hotmail.com", 0.1), ("outlook.com", 0.1),
    ("aol.com", 0.05), ("icloud.com", 0.1), ("comcast.net", 0.02),
)  # fmt: skip

# Delinquency buckets as the ageing module labels them (M1 = 1–30 days past due, …, M7+ = 181 and more).
BUCKETS: tuple[str, ...] = ("M1", "M2", "M3", "M4", "M5", "M6", "M7+")

# Month-to-month roll rates Mk → Mk+1. M3→M4 … M6→M7 and the M7+ persistence were measured on the UCI
# "default of credit card clients" data (Taiwan, 2005; 30,000 cards × 6 monthly statuses, pooled over the
# five month-to-month transitions): 0.257, 0.289, 0.450, 0.714, and 0.70 of M7+ cards still M7+ the next
# month. That data barely records status 1 before its last month and mixes revolving accounts into
# status 2, so M1→M2 and M2→M3 use its share of M2 cards still delinquent a month later (0.747).
ROLL_RATES: tuple[float, ...] = (0.747, 0.747, 0.257, 0.289, 0.450, 0.714)
M7_PERSISTENCE = 0.70
# Share of the placement that comes as charged-off debt, placed on top of the rolling book: agencies
# receive such batches alongside early-stage placements. Its age decays more slowly than the rolling
# M7+ stock (0.92 a month: mostly 6 months to 4 years past due). Both numbers are assumptions.
CHARGED_OFF_SHARE = 0.12
CHARGED_OFF_PERSISTENCE = 0.92
# Cap on months past M7 (about 3.5 years past due in the rolling tail, 5 years for charged-off debt).
M7_MAX_EXTRA_MONTHS = 36
CHARGED_OFF_MAX_EXTRA_MONTHS = 54


def placement_mix() -> tuple[float, ...]:
    """Shares of the eight ways an account enters the placement: M1 … M6 and M7+ from the roll-rate
    chain (the M7+ stock grows geometrically with its persistence), then the charged-off batch."""
    stock = [1.0]
    for r in ROLL_RATES:
        stock.append(stock[-1] * r)
    stock[-1] = stock[-1] / (1.0 - M7_PERSISTENCE)
    total = sum(stock)
    return (*((1.0 - CHARGED_OFF_SHARE) * s / total for s in stock), CHARGED_OFF_SHARE)


def bucket_shares() -> tuple[float, ...]:
    """Intended share of accounts per bucket in `BUCKETS` order (M7+ includes the charged-off batch)."""
    mix = placement_mix()
    return (*mix[:6], mix[6] + mix[7])
