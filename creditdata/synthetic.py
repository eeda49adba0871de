"""Synthetic enterprises and their public credit records, for the sandbox provider.

The sandbox must serve *every* valid USCC a tester types, the same answer on every
machine and every day, and data realistic enough to build and evaluate a credit scorer
on. So nothing is stored: everything is generated from the USCC.

Generative process
==================

1. **Profile.** ``sha256("profile|" + uscc)`` seeds a ``random.Random`` that draws the
   firm's *latent health* ``h ~ N(0, 1)`` and, mostly independently of it, its
   industry, district, base headcount ``size`` (log-normal, 3–500), registered capital
   (log-normal, 0.5M–50M CNY), age (1–25 years before 2026-01-01, slightly older for
   healthier firms: survivors), name, legal representative and address. Python's
   ``hash()`` is never used: it is salted per process.

2. **True default probability.** The 12-month probability of default depends on the
   latent health *only*::

       PD(h) = 1 / (1 + exp(-(-2.8 - 1.3 * h)))

   so ``PD(0) ≈ 5.7 %``, ``PD(-2) ≈ 45 %``, ``PD(+2) ≈ 0.45 %`` and the population
   mean is 9.9 %. ``simulated_default`` draws the outcome ``Bernoulli(PD)`` from its own
   seed. Every observable signal below is a *noisy* function of ``h`` (plus size,
   industry and age, which carry no information on default by themselves, except that
   age is mildly correlated with ``h``). Hence no scorer trained on the records can
   beat the true PD: **the best achievable AUC on simulated defaults is the AUC of
   ``true_default_probability`` itself** (0.80 with these coefficients); a scorer's
   AUC should be read against that ceiling, not against 1.0.

3. **Monthly series** (tax, social insurance, housing fund, utilities, customs), for
   the months from ``max(founding month, as_of month - 36)`` up to the month *before*
   ``as_of``'s (the current month is not closed yet). Each month is drawn from its own
   seed ``sha256(uscc|category|month)``, so a month never changes when ``as_of``
   moves. The headcount drifts by ``0.02 + 0.12 h`` log-points a year around ``size``
   (measured at 2026-01) and ramps up over a firm's first two years; the other series
   scale with it:

   * tax paid ∝ headcount × industry rate × ``exp(0.35 h)`` × seasonality (quarterly
     income-tax prepayment in Jan/Apr/Jul/Oct, a slow February) × log-normal noise;
     a zero declaration with p = σ(-3.5 - 1.2h); arrears with p = σ(-3.6 - 1.5h);
     the tax credit grade (A/B/C/D from ``h`` plus yearly noise, M in a firm's first
     year) repeated on every month of its year.
   * social insurance: the headcount; arrears with p = σ(-3.6 - 1.5h).
   * housing fund: only firms whose coverage σ(-0.5 + 0.9h + 0.8·noise) is above
     20 % enrol (≈ 77 %); contributors ≤ headcount; late payment with p = σ(-3.3 - 1.4h).
   * utilities: electricity and water every month, gas for half of manufacturers and
     almost all caterers; usage ∝ headcount × industry intensity × season (summer air
     conditioning); arrears with p = σ(-3.8 - 1.3h).
   * customs: only traders (55 % of manufacturers, 45 % of wholesalers, a few others,
     ≈ 25 % of firms); exports ∝ headcount × ``exp(0.3 h)``; imports a firm-specific
     share of exports, and zero in ~30 % of months.

4. **Events** are Poisson processes in time starting at the founding date, with
   yearly rates depending on ``h`` (so, given their number, the dates are uniform
   between the founding date and ``as_of``). Event ``k`` draws its gap and its
   attributes from the seed ``sha256(uscc|category|stream|k)``, so an event never
   changes when ``as_of`` moves; only events dated ≤ ``as_of`` are returned. Yearly
   rates (``s = size/20``)::

       administrative penalties  0.035 · e^(-1.1h) · s^0.15 · industry (C, E, H, G ×1.5)
       administrative licences   0.12 · industry (H, Q ×2; C, E, G ×1.5)
       court judgements          0.05 · e^(-0.5h) · s^0.3
       court enforcements        0.0026 · e^(-1.6h); dishonest debtor p = σ(-2.6 - 1.2h)
       abnormal-operation list   0.0013 · e^(-1.5h)
       honours                   0.0040 · e^(+1.5h)
       credit commitments        0.035 · e^(0.2h)
       patents and trademarks    industry base (I, M 0.6; C 0.45; others 0.1)
                                 · e^(0.6h) · s^0.4

   With the population's ages this gives, as of 2026: ~5 % of firms with an
   enforcement, ~2 % dishonest debtors, ~3 % ever listed as abnormal, ~10 % with an
   honour, ~30 % with a commitment, and 1–3 penalties for a weak firm (h ≈ -1.5…-2)
   against ~0.1 for a strong one (h > 1). See ``docs/synthetic.md``.

5. **Lifecycle fields.** A penalty may be repaired, a case concluded, an abnormal
   listing removed, a commitment fulfilled or breached, a patent lapse, a firm be
   revoked. The date at which that happens is fixed by the event's seed, but it is
   only *shown* once it is ≤ ``as_of``: before that the record says ``repaired``
   false, ``concluded_on`` null, ``status`` ``in_force``... The provider's data would
   not know the future either, and a scorer trained on records as of a date must not
   see it. So a record's identity and its dated facts are stable over time, and only
   these fields move forward, exactly as the provider's ``record.repaired`` webhook
   announces.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from statistics import NormalDist
from typing import Any

from dateutil.relativedelta import relativedelta

from borrowers.uscc import ALPHABET, make_uscc
from creditdata.categories import (
    DISTRICTS,
    RECORD_FIELDS,
    Category,
    serialize_value,
)

#: Ages are measured back from, and headcount drifts around, this date.
REFERENCE_DATE = dt.date(2026, 1, 1)
#: Monthly series reach back this many months before ``as_of``'s month.
HISTORY_MONTHS = 36
#: PD(h) = logistic(PD_INTERCEPT + PD_SLOPE * h).
PD_INTERCEPT = -2.8
PD_SLOPE = -1.3

_ORG_CODE_SPACE = len(ALPHABET) ** 9
# Multiplying by a constant coprime with 31 is a bijection of [0, 31^9): consecutive
# indices get unrelated-looking organisation codes, and still never the same one.
_ORG_CODE_MULTIPLIER = 7_919_346_529
_ORG_CODE_OFFSET = 1_234_567_891_011
_STANDARD_NORMAL = NormalDist()

DISTRICT_NAMES = {
    "440303": "罗湖区",
    "440304": "福田区",
    "440305": "南山区",
    "440306": "宝安区",
    "440307": "龙岗区",
    "440308": "盐田区",
    "440309": "龙华区",
    "440310": "坪山区",
    "440311": "光明区",
    "440312": "大鹏新区",
    "440313": "深汕特别合作区",
}
_DISTRICT_WEIGHTS = {
    "440303": 8,
    "440304": 12,
    "440305": 16,
    "440306": 20,
    "440307": 18,
    "440308": 2,
    "440309": 12,
    "440310": 3,
    "440311": 5,
    "440312": 1,
    "440313": 1,
}
_ROADS = {
    "440303": ("深南东路", "人民南路", "宝安北路", "东门中路"),
    "440304": ("深南中路", "福华路", "益田路", "彩田路"),
    "440305": ("科苑路", "南海大道", "科技中一路", "沙河西路"),
    "440306": ("宝安大道", "新安六路", "福永大道", "沙井路"),
    "440307": ("龙岗大道", "布吉路", "五和大道", "横岗大道"),
    "440308": ("深盐路", "海景二路", "沙头角路"),
    "440309": ("民治大道", "梅龙大道", "观澜大道", "龙华大道"),
    "440310": ("坪山大道", "锦绣中路", "东纵路"),
    "440311": ("光明大道", "华夏路", "观光路"),
    "440312": ("金业大道", "葵涌中心路"),
    "440313": ("创业大道", "深汕大道"),
}
# GB/T 4754 sections weighted like Shenzhen's SME population (the rest share ~10 %).
_INDUSTRY_WEIGHTS = {
    "C": 24,
    "F": 20,
    "I": 12,
    "L": 8,
    "M": 8,
    "E": 7,
    "G": 5,
    "H": 4,
    "O": 3,
    "K": 2,
    "R": 2,
    "N": 1,
    "P": 1,
    "Q": 1,
    "A": 0.5,
    "D": 0.5,
}
_NAME_HEADS = (
    "华信", "瑞丰", "鹏达", "恒通", "永盛", "嘉禾", "天宇", "中科", "金桥", "新源",
    "博远", "宏图", "信达", "安捷", "泰和", "卓越", "启明", "汇聚", "联创", "明德",
    "锦程", "海纳", "睿智", "康泰", "融通", "星辰", "万邦", "南粤", "前湾", "鼎盛",
)  # fmt: skip
_NAME_TAILS = (
    "智能", "数码", "创新", "精工", "环球", "未来", "云图", "光电", "通达", "佳业",
    "宏业", "兴业", "合创", "同盛", "立德", "优品", "凯利", "盈科", "远航", "誉诚",
)  # fmt: skip
_NAME_SUFFIXES = {
    "C": ("电子", "精密制造", "智能装备", "新材料", "五金制品"),
    "F": ("贸易", "商贸", "供应链管理"),
    "I": ("科技", "信息技术", "软件", "网络科技"),
    "M": ("科技", "技术服务", "检测技术", "工程设计"),
    "E": ("建设工程", "建筑装饰工程", "机电工程"),
    "L": ("商务咨询", "企业管理", "人力资源"),
    "H": ("餐饮管理", "酒店管理"),
    "G": ("物流", "国际货运代理"),
    "K": ("房地产开发", "物业管理"),
}
_DEFAULT_SUFFIXES = ("实业", "发展", "科技")
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许邓冯韩曹曾彭蔡潘田董袁于余叶"
    "蒋杜苏魏程吕丁沈任姚卢钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江薛尹段雷黎"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华建国志文辉斌鹏宇浩俊晨欣婷雪琳峰海波宁红玲梅飞鑫凯鸿锋"

# Monthly tax per employee (CNY) by industry; VAT-heavy trade and real estate pay more.
_TAX_PER_HEAD = {"C": 1800, "F": 2500, "I": 3000, "M": 2500, "E": 1500, "L": 1800}
_TAX_PER_HEAD.update({"H": 800, "G": 1200, "K": 6000})
_TAX_SEASON = (1.3, 0.75, 1.0, 1.3, 0.95, 1.0, 1.3, 0.95, 1.0, 1.3, 0.95, 1.15)
_ELECTRICITY_PER_HEAD = {"C": 600, "H": 400, "D": 500, "F": 120}  # kWh / month
_WATER_PER_HEAD = {"C": 6.0, "H": 25.0, "Q": 8.0}  # m³ / month
_GAS_PER_HEAD = {"C": 15.0, "H": 40.0}  # m³ / month
_SUMMER = (1.0, 0.85, 0.9, 0.95, 1.1, 1.25, 1.35, 1.35, 1.25, 1.1, 0.95, 1.0)
_PRICES = {"electricity": 0.85, "water": 4.85, "gas": 3.90}  # CNY per unit
_TRADE_SHARE = {"C": 0.55, "F": 0.45, "I": 0.10}  # others 0.03


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _seed(*parts: object) -> int:
    """A 64-bit seed from sha256 of the parts: identical in every process."""
    text = "|".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _rng(*parts: object) -> random.Random:
    return random.Random(_seed(*parts))


def _normal(rng: random.Random) -> float:
    """A standard normal from one ``random()`` by the inverse CDF.

    ``random()`` is the one method whose stream Python guarantees across versions, so
    the data does not change with an interpreter upgrade.
    """
    return _STANDARD_NORMAL.inv_cdf(min(max(rng.random(), 1e-12), 1 - 1e-12))


def _uniform(rng: random.Random, low: float, high: float) -> float:
    return low + (high - low) * rng.random()


def _pick(rng: random.Random, items: tuple[Any, ...] | list[Any] | str) -> Any:
    return items[min(int(rng.random() * len(items)), len(items) - 1)]


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    target = rng.random() * sum(weights.values())
    for key, weight in weights.items():
        target -= weight
        if target < 0:
            return key
    return key


def _money(amount: float) -> Decimal:
    return Decimal(f"{max(amount, 0.0):.2f}")


def _hundreds(amount: float) -> Decimal:
    return Decimal(max(round(amount / 100.0), 1) * 100)


def _add_days(day: dt.date, days: float) -> dt.date:
    return day + dt.timedelta(days=int(days))


# --- Enterprises ------------------------------------------------------------------------


def synthetic_uscc(index: int) -> str:
    """The ``index``-th synthetic USCC: valid, and different for every index.

    "91" (market regulator, enterprise) + a Shenzhen district code + 9 characters that
    are a bijection of the index (so codes look unrelated yet never collide) + the
    check character. Supports indices below 31^9 (≈ 2.6 × 10^13).
    """
    if not isinstance(index, int) or index < 0:
        raise ValueError("index must be a non-negative integer")
    if index >= _ORG_CODE_SPACE:
        raise ValueError(f"index must be below {_ORG_CODE_SPACE}")
    code = (index * _ORG_CODE_MULTIPLIER + _ORG_CODE_OFFSET) % _ORG_CODE_SPACE
    characters = []
    for _ in range(9):
        code, digit = divmod(code, len(ALPHABET))
        characters.append(ALPHABET[digit])
    district = _weighted(_rng("district", index), _DISTRICT_WEIGHTS)
    return make_uscc("91" + district + "".join(reversed(characters)))


@dataclass(frozen=True)
class FirmProfile:
    """What an enterprise *is*, from which all its records are generated.

    ``health`` is the latent variable the records are noisy signals of; it and
    ``revoked_on`` are never shown by the sandbox API.
    """

    uscc: str
    name: str
    legal_representative: str
    registered_capital: Decimal
    founded_on: dt.date
    industry: str
    district: str
    size: int
    health: float
    address: str
    trades_abroad: bool
    revoked_on: dt.date | None


@lru_cache(maxsize=4096)
def firm_profile(uscc: str) -> FirmProfile:
    """The deterministic profile of the enterprise with this USCC.

    A code whose division (characters 3–8) is a Shenzhen district is registered there,
    like a real one; any other valid code gets a weighted random district.
    """
    rng = _rng("profile", uscc)
    health = _normal(rng)
    industry = _weighted(rng, _INDUSTRY_WEIGHTS)
    district = (
        uscc[2:8] if uscc[2:8] in DISTRICTS else _weighted(rng, _DISTRICT_WEIGHTS)
    )
    industry_scale = {"C": 1.6, "E": 1.4, "G": 1.2, "H": 1.1}.get(industry, 1.0)
    size = round(math.exp(math.log(20 * industry_scale) + 1.0 * _normal(rng)))
    size = min(max(size, 3), 500)
    capital = math.exp(
        math.log(2.5e6) + 0.35 * math.log(size / 20) + 0.9 * _normal(rng)
    )
    capital = min(max(capital, 5e5), 5e7)
    # Older firms are a little healthier (the weak ones did not survive).
    age_quantile = _STANDARD_NORMAL.cdf(0.3 * health + math.sqrt(0.91) * _normal(rng))
    age_days = 366 + (25 * 365 - 366) * age_quantile**1.6
    founded_on = REFERENCE_DATE - dt.timedelta(days=int(age_days))
    suffixes = _NAME_SUFFIXES.get(industry, _DEFAULT_SUFFIXES)
    name = f"深圳市{_pick(rng, _NAME_HEADS)}{_pick(rng, _NAME_TAILS)}"
    name += f"{_pick(rng, suffixes)}有限公司"
    given = _pick(rng, _GIVEN) + (_pick(rng, _GIVEN) if rng.random() < 0.7 else "")
    legal_representative = _pick(rng, _SURNAMES) + given
    address = (
        f"深圳市{DISTRICT_NAMES[district]}{_pick(rng, _ROADS[district])}"
        f"{1 + int(rng.random() * 399)}号{_pick(rng, _NAME_HEADS)}大厦"
        f"{1 + int(rng.random() * 30)}楼{1 + int(rng.random() * 20):02d}室"
    )
    trades_abroad = rng.random() < _TRADE_SHARE.get(industry, 0.03)
    revoked_on = None
    if health < -1 and rng.random() < 0.03:
        start = max(founded_on + dt.timedelta(days=365), dt.date(2023, 1, 1))
        revoked_on = _add_days(
            start, rng.random() * (dt.date(2026, 12, 31) - start).days
        )
    return FirmProfile(
        uscc=uscc,
        name=name,
        legal_representative=legal_representative,
        registered_capital=Decimal(round(capital / 10_000) * 10_000),
        founded_on=founded_on,
        industry=industry,
        district=district,
        size=size,
        health=health,
        address=address,
        trades_abroad=trades_abroad,
        revoked_on=revoked_on,
    )


# Mainland mobile number prefixes the synthetic registered contacts use.
_MOBILE_PREFIXES = (
    *("135", "136", "137", "138", "139"),
    *("150", "158", "186", "188", "189"),
)


def registered_contact(uscc: str) -> str:
    """The mobile number the registry holds for the enterprise's legal representative:
    where the sandbox "sends" real-name verification codes.

    Drawn from its own seed, so adding it changed no other generated value.
    """
    rng = _rng("contact", uscc)
    number = min(int(rng.random() * 10**8), 10**8 - 1)  # random() only: see _normal
    return _pick(rng, _MOBILE_PREFIXES) + f"{number:08d}"


def true_default_probability(profile: FirmProfile) -> float:
    """The 12-month PD: ``1 / (1 + exp(-(-2.8 - 1.3 * health)))``.

    It depends on the latent health only, so it is the best score any model of the
    records can reach (see the module docstring).
    """
    return _sigmoid(PD_INTERCEPT + PD_SLOPE * profile.health)


def simulated_default(profile: FirmProfile) -> bool:
    """Whether the firm defaults in the 12 months ahead: ``Bernoulli(PD)``, fixed per USCC.

    The label to train and evaluate scorers against; its own seed, so it is
    independent of every record given the health.
    """
    return _rng("default", profile.uscc).random() < true_default_probability(profile)


# --- Records -----------------------------------------------------------------------------


def _record(category: str, record_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """A wire record: ``id``, ``category`` and every field, serialized, in spec order."""
    record: dict[str, Any] = {"id": record_id, "category": category}
    for spec in RECORD_FIELDS[category]:
        record[spec.name] = serialize_value(spec, values.get(spec.name))
    return record


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _month_start(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def _months(profile: FirmProfile, as_of: dt.date) -> range:
    """Month indices of the monthly series as of ``as_of`` (closed months only)."""
    end = _month_index(as_of)  # exclusive: the current month is still open
    if profile.revoked_on is not None and profile.revoked_on <= as_of:
        end = min(end, _month_index(profile.revoked_on) + 1)
    start = max(_month_index(profile.founded_on), _month_index(as_of) - HISTORY_MONTHS)
    return range(start, max(start, end))


def _headcount(profile: FirmProfile, month: int) -> int:
    """Headcount in a month: drift by health, a ramp-up over the first two years."""
    years = (month - _month_index(REFERENCE_DATE)) / 12
    growth = 0.02 + 0.12 * profile.health
    age_months = month - _month_index(profile.founded_on)
    ramp = min(1.0, 0.4 + 0.6 * age_months / 24)
    noise = 0.05 * _normal(_rng(profile.uscc, "headcount", month))
    return max(1, round(profile.size * ramp * math.exp(growth * years + noise)))


def _period(month: int) -> str:
    return f"{month // 12:04d}{month % 12 + 1:02d}"


def _tax_grade(profile: FirmProfile, month: int) -> str:
    if month - _month_index(profile.founded_on) < 12:
        return "M"
    score = profile.health + 0.6 * _normal(_rng(profile.uscc, "tax_grade", month // 12))
    if score > 0.8:
        return "A"
    if score > -0.6:
        return "B"
    return "C" if score > -1.6 else "D"


def _tax(profile: FirmProfile, as_of: dt.date) -> list[dict[str, Any]]:
    rate = _TAX_PER_HEAD.get(profile.industry, 1500) * math.exp(0.35 * profile.health)
    records = []
    for month in _months(profile, as_of):
        rng = _rng(profile.uscc, "tax", month)
        level = rate * _headcount(profile, month) * _TAX_SEASON[month % 12]
        paid = level * math.exp(0.25 * _normal(rng) - 0.03)
        if rng.random() < _sigmoid(-3.5 - 1.2 * profile.health):
            paid = 0.0
        arrears = 0.0
        if rng.random() < _sigmoid(-3.6 - 1.5 * profile.health):
            arrears = level * _uniform(rng, 0.2, 1.5)
        values = {
            "period": _month_start(month),
            "tax_paid": _money(paid),
            "arrears": _money(arrears),
            "credit_grade": _tax_grade(profile, month),
        }
        records.append(_record("tax", f"tax-{profile.uscc}-{_period(month)}", values))
    return records


def _social_insurance(profile: FirmProfile, as_of: dt.date) -> list[dict[str, Any]]:
    records = []
    for month in _months(profile, as_of):
        rng = _rng(profile.uscc, "social_insurance", month)
        headcount = _headcount(profile, month)
        arrears = 0.0
        if rng.random() < _sigmoid(-3.6 - 1.5 * profile.health):
            arrears = headcount * 1100 * _uniform(rng, 0.5, 3.0)
        values = {
            "period": _month_start(month),
            "headcount": headcount,
            "arrears": _money(arrears),
        }
        record_id = f"soc-{profile.uscc}-{_period(month)}"
        records.append(_record("social_insurance", record_id, values))
    return records


def _housing_fund(profile: FirmProfile, as_of: dt.date) -> list[dict[str, Any]]:
    firm = _rng(profile.uscc, "housing_fund", "firm")
    coverage = _sigmoid(-0.5 + 0.9 * profile.health + 0.8 * _normal(firm))
    if coverage < 0.2:
        return []  # never enrolled: no records at all, as at the real fund centre
    wage = 8000 * math.exp(0.15 * profile.health + 0.2 * _normal(firm))
    records = []
    for month in _months(profile, as_of):
        rng = _rng(profile.uscc, "housing_fund", month)
        headcount = _headcount(profile, month)
        contributors = min(
            headcount, round(headcount * coverage * _uniform(rng, 0.93, 1))
        )
        amount = contributors * wage * 0.16 * _uniform(rng, 0.97, 1.03)
        late = contributors > 0 and rng.random() < _sigmoid(-3.3 - 1.4 * profile.health)
        values = {
            "period": _month_start(month),
            "contributors": contributors,
            "amount_paid": _money(amount),
            "paid_on_time": not late,
        }
        record_id = f"hou-{profile.uscc}-{_period(month)}"
        records.append(_record("housing_fund", record_id, values))
    return records


def _utilities(profile: FirmProfile, as_of: dt.date) -> list[dict[str, Any]]:
    industry = profile.industry
    firm = _rng(profile.uscc, "utilities", "firm")
    gas_share = {"C": 0.5, "H": 0.95}.get(industry, 0.0)
    utilities = {
        "electricity": _ELECTRICITY_PER_HEAD.get(industry, 150),
        "water": _WATER_PER_HEAD.get(industry, 2.5),
    }
    if firm.random() < gas_share:
        utilities["gas"] = _GAS_PER_HEAD[industry]
    records = []
    for month in _months(profile, as_of):
        headcount = _headcount(profile, month)
        for utility, intensity in utilities.items():
            rng = _rng(profile.uscc, "utilities", utility, month)
            season = _SUMMER[month % 12] if utility == "electricity" else 1.0
            usage = headcount * intensity * season * math.exp(0.15 * _normal(rng))
            amount = usage * _PRICES[utility]
            arrears = 0.0
            if rng.random() < _sigmoid(-3.8 - 1.3 * profile.health):
                arrears = amount * _uniform(rng, 0.5, 2.0)
            values = {
                "period": _month_start(month),
                "utility": utility,
                "usage": _money(usage),
                "amount": _money(amount),
                "arrears": _money(arrears),
            }
            record_id = f"uti-{profile.uscc}-{_period(month)}-{utility}"
            records.append(_record("utilities", record_id, values))
    return records


def _customs(profile: FirmProfile, as_of: dt.date) -> list[dict[str, Any]]:
    if not profile.trades_abroad:
        return []
    firm = _rng(profile.uscc, "customs", "firm")
    per_head = float({"C": 40_000, "F": 60_000}.get(profile.industry, 25_000))
    per_head *= math.exp(0.3 * profile.health + 0.5 * _normal(firm))
    import_share = _uniform(firm, 0.1, 0.8)
    records = []
    for month in _months(profile, as_of):
        rng = _rng(profile.uscc, "customs", month)
        exports = per_head * _headcount(profile, month) * math.exp(0.35 * _normal(rng))
        if rng.random() < 0.08:
            exports = 0.0
        imports = exports * import_share * math.exp(0.4 * _normal(rng))
        if rng.random() < 0.3:
            imports = 0.0
        values = {
            "period": _month_start(month),
            "imports": _money(imports),
            "exports": _money(exports),
        }
        records.append(
            _record("customs", f"cus-{profile.uscc}-{_period(month)}", values)
        )
    return records


def _registration(profile: FirmProfile, as_of: dt.date) -> list[dict[str, Any]]:
    revoked = profile.revoked_on is not None and profile.revoked_on <= as_of
    values = {
        "name": profile.name,
        "legal_representative": profile.legal_representative,
        "registered_capital": profile.registered_capital,
        "founded_on": profile.founded_on,
        "industry": profile.industry,
        "district": profile.district,
        "status": "revoked" if revoked else "active",
        "address": profile.address,
    }
    return [_record("registration", f"reg-{profile.uscc}", values)]


def _events(
    profile: FirmProfile, stream: str, rate: float, as_of: dt.date
) -> Iterator[tuple[int, dt.date, random.Random]]:
    """Poisson arrivals at ``rate`` a year from the founding date up to ``as_of``.

    Yields ``(k, date, rng)``: the k-th event's date and its own generator, which has
    drawn the gap and goes on to draw the event's attributes. Nothing depends on
    ``as_of`` except where the iteration stops.
    """
    if rate <= 0:
        return
    horizon = (as_of - profile.founded_on).days
    elapsed = 0.0
    for k in range(10_000):
        rng = _rng(profile.uscc, stream, k)
        elapsed += -math.log(1.0 - rng.random()) / rate * 365.25
        if int(elapsed) > horizon:
            return
        yield k, _add_days(profile.founded_on, elapsed), rng


def _shown(day: dt.date | None, as_of: dt.date) -> dt.date | None:
    """A lifecycle date, or ``None`` while it is still in the future."""
    return day if day is not None and day <= as_of else None


def _unique(number: int, year: int, used: set[tuple[int, int]]) -> int:
    while (year, number) in used:
        number += 1
    used.add((year, number))
    return number


_PENALTY_AUTHORITIES = (
    ("深圳市市场监督管理局", "深市监罚", ("未按规定公示年度报告", "销售不合格产品", "虚假宣传")),
    ("国家税务总局深圳市税务局", "深税稽罚", ("未按期申报纳税", "未按规定开具发票")),
    ("深圳市生态环境局", "深环罚", ("超标排放水污染物", "未批先建", "危险废物管理不规范")),
    ("深圳市应急管理局", "深应急罚", ("未按规定开展安全生产教育培训", "安全隐患未及时整改")),
    ("深圳市住房和建设局", "深建罚", ("施工现场扬尘治理不到位", "违反建设工程质量管理规定")),
    ("深圳市消防救援支队", "深消行罚", ("消防设施未保持完好有效", "占用疏散通道")),
    ("深圳市人力资源和社会保障局", "深人社监罚", ("拖欠劳动者工资", "未依法缴纳社会保险费")),
)  # fmt: skip
_LICENCES = {
    "H": (("深圳市市场监督管理局", "深市监", "食品经营许可证"),),
    "C": (
        ("深圳市生态环境局", "深环", "排污许可证"),
        ("深圳市应急管理局", "深应急", "危险化学品经营许可证"),
    ),
    "E": (("深圳市住房和建设局", "深建", "建筑业企业资质证书"),),
    "G": (("深圳市交通运输局", "深交", "道路运输经营许可证"),),
    "Q": (("深圳市卫生健康委员会", "深卫健", "医疗机构执业许可证"),),
}
_GENERAL_LICENCES = (
    ("深圳市商务局", "深商务", "对外贸易经营者备案登记"),
    ("深圳市市场监督管理局", "深市监", "广告发布登记"),
    ("深圳市规划和自然资源局", "深规划资源", "建设工程规划许可证"),
)
_INDUSTRY_PENALTY = {"C": 1.5, "E": 1.5, "H": 1.5, "G": 1.5, "I": 0.6, "M": 0.6}
_INDUSTRY_LICENCE = {"H": 2.0, "Q": 2.0, "C": 1.5, "E": 1.5, "G": 1.5}


def _administrative(profile: FirmProfile, as_of: dt.date) -> list[dict[str, Any]]:
    h = profile.health
    records = []
    penalty_rate = 0.035 * math.exp(-1.1 * h) * (profile.size / 20) ** 0.15
    penalty_rate *= _INDUSTRY_PENALTY.get(profile.industry, 1.0)
    used: set[tuple[int, int]] = set()
    for k, day, rng in _events(profile, "penalty", penalty_rate, as_of):
        authority, abbreviation, descriptions = _pick(rng, _PENALTY_AUTHORITIES)
        severity = _weighted(
            rng,
            {
                "minor": 0.55 * math.exp(0.3 * h),
                "general": 0.35,
                "serious": 0.10 * math.exp(-0.6 * h),
            },
        )
        low, high = {
            "minor": (200, 5_000),
            "general": (5_000, 100_000),
            "serious": (100_000, 1_000_000),
        }[severity]
        amount = math.exp(_uniform(rng, math.log(low), math.log(high)))
        number = _unique(1 + int(rng.random() * 3000), day.year, used)
        repair_p = _sigmoid(0.3 + 0.8 * h) * (0.5 if severity == "serious" else 1.0)
        repair_days = {"minor": (90, 365), "general": (365, 1095)}.get(
            severity, (1095, 1825)
        )
        repaired_on = None
        if rng.random() < repair_p:
            repaired_on = _add_days(day, _uniform(rng, *repair_days))
        shown = _shown(repaired_on, as_of)
        values = {
            "record_type": "penalty",
            "decision_number": f"{abbreviation}〔{day.year}〕{number}号",
            "authority": authority,
            "decided_on": day,
            "amount": _hundreds(amount),
            "severity": severity,
            "repaired": shown is not None,
            "repaired_on": shown,
            "description": _pick(rng, descriptions),
        }
        records.append(
            _record("administrative", f"adm-{profile.uscc}-p{k:03d}", values)
        )
    licence_rate = 0.12 * _INDUSTRY_LICENCE.get(profile.industry, 1.0)
    licences = _LICENCES.get(profile.industry, ()) + _GENERAL_LICENCES
    used = set()
    for k, day, rng in _events(profile, "licence", licence_rate, as_of):
        authority, abbreviation, title = _pick(rng, licences)
        number = _unique(1 + int(rng.random() * 9000), day.year, used)
        values = {
            "record_type": "licence",
            "decision_number": f"{abbreviation}许字〔{day.year}〕第{number}号",
            "authority": authority,
            "decided_on": day,
            "repaired": False,
            "description": title,
        }
        records.append(
            _record("administrative", f"adm-{profile.uscc}-l{k:03d}", values)
        )
    records.sort(key=lambda record: (record["decided_on"], record["id"]))
    return records


_COURT_DISTRICTS = {"440312": "440307"}  # Dapeng's cases go to the Longgang court


def _court(profile: FirmProfile, as_of: dt.date) -> list[dict[str, Any]]:
    h = profile.health
    home = _COURT_DISTRICTS.get(profile.district, profile.district)
    records = []
    streams: tuple[tuple[str, str, float], ...] = (
        ("judgement", "j", 0.05 * math.exp(-0.5 * h) * (profile.size / 20) ** 0.3),
        ("enforcement", "e", 0.0026 * math.exp(-1.6 * h)),
    )
    for record_type, letter, rate in streams:
        used: set[tuple[int, int]] = set()
        for k, day, rng in _events(profile, f"court-{record_type}", rate, as_of):
            where = rng.random()
            if where < 0.8:
                district = home
            elif where < 0.9:
                district = _pick(rng, tuple(DISTRICT_NAMES))
                district = _COURT_DISTRICTS.get(district, district)
            else:
                district = "440300"
            if district == "440300":
                court, code = "深圳市中级人民法院", "粤03"
            else:
                court, code = (
                    f"深圳市{DISTRICT_NAMES[district]}人民法院",
                    f"粤{district[2:]}",
                )
            number = _unique(1 + int(rng.random() * 40_000), day.year, used)
            kind = "执" if record_type == "enforcement" else "民初"
            amount = math.exp(math.log(200_000) + 1.2 * _normal(rng))
            dishonest = record_type == "enforcement" and rng.random() < _sigmoid(
                -2.6 - 1.2 * h
            )
            concluded_on = _add_days(day, _uniform(rng, 60, 420))
            values = {
                "record_type": record_type,
                "case_number": f"({day.year}){code}{kind}{number}号",
                "court": court,
                "filed_on": day,
                "amount": _money(amount),
                "dishonest_debtor": dishonest,
                "concluded_on": _shown(concluded_on, as_of),
            }
            record_id = f"cou-{profile.uscc}-{letter}{k:03d}"
            records.append(_record("court", record_id, values))
    records.sort(key=lambda record: (record["filed_on"], record["id"]))
    return records


_ABNORMAL_REASONS = (
    "未按照规定期限公示年度报告",
    "通过登记的住所或者经营场所无法联系",
    "公示企业信息隐瞒真实情况、弄虚作假",
    "未在责令的期限内公示有关企业信息",
)


def _abnormal_operation(profile: FirmProfile, as_of: dt.date) -> list[dict[str, Any]]:
    h = profile.health
    records = []
    rate = 0.0013 * math.exp(-1.5 * h)
    for k, day, rng in _events(profile, "abnormal_operation", rate, as_of):
        removed_on = None
        if rng.random() < _sigmoid(0.8 + 0.8 * h):
            removed_on = _add_days(day, _uniform(rng, 30, 540))
        values = {
            "listed_on": day,
            "reason": _pick(rng, _ABNORMAL_REASONS),
            "authority": "深圳市市场监督管理局",
            "removed_on": _shown(removed_on, as_of),
        }
        record_id = f"abn-{profile.uscc}-{k:03d}"
        records.append(_record("abnormal_operation", record_id, values))
    return records


_HONOURS = (
    ("国家高新技术企业", "广东省科学技术厅", "national"),
    ("专精特新“小巨人”企业", "工业和信息化部", "national"),
    ("广东省专精特新中小企业", "广东省工业和信息化厅", "provincial"),
    ("广东省守合同重信用企业", "广东省市场监督管理局", "provincial"),
    ("深圳市专精特新中小企业", "深圳市工业和信息化局", "municipal"),
    ("纳税信用A级纳税人", "国家税务总局深圳市税务局", "municipal"),
    ("深圳知名品牌", "深圳市市场监督管理局", "municipal"),
)


def _honours(profile: FirmProfile, as_of: dt.date) -> list[dict[str, Any]]:
    records = []
    district = DISTRICT_NAMES[profile.district]
    rate = 0.0040 * math.exp(1.5 * profile.health)
    for k, day, rng in _events(profile, "honours", rate, as_of):
        if rng.random() < 0.15:
            title, authority, level = (
                "诚信示范企业",
                f"深圳市{district}人民政府",
                "district",
            )
        else:
            title, authority, level = _pick(rng, _HONOURS)
        values = {
            "title": title,
            "authority": authority,
            "awarded_on": day,
            "level": level,
        }
        records.append(_record("honours", f"hon-{profile.uscc}-{k:03d}", values))
    return records


_COMMITMENTS = (
    ("行政许可信用承诺", "深圳市市场监督管理局"),
    ("证明事项告知承诺", "深圳市司法局"),
    ("涉企经营许可告知承诺", "深圳市政务服务和数据管理局"),
    ("融资信用承诺", "深圳市地方金融管理局"),
    ("纳税信用承诺", "国家税务总局深圳市税务局"),
    ("公共资源交易信用承诺", "深圳公共资源交易中心"),
)


def _credit_commitments(profile: FirmProfile, as_of: dt.date) -> list[dict[str, Any]]:
    records = []
    rate = 0.035 * math.exp(0.2 * profile.health)
    for k, day, rng in _events(profile, "credit_commitments", rate, as_of):
        commitment_type, authority = _pick(rng, _COMMITMENTS)
        resolved_on = _add_days(day, _uniform(rng, 365, 1095))
        breached = rng.random() < _sigmoid(-2.5 - 1.2 * profile.health)
        status = "in_force"
        if resolved_on <= as_of:
            status = "breached" if breached else "fulfilled"
        values = {
            "commitment_type": commitment_type,
            "authority": authority,
            "made_on": day,
            "status": status,
        }
        record_id = f"cre-{profile.uscc}-{k:03d}"
        records.append(_record("credit_commitments", record_id, values))
    return records


_IP_MIX = {
    "C": {
        "utility_model": 45,
        "invention_patent": 20,
        "design_patent": 15,
        "trademark": 20,
    },
    "I": {
        "invention_patent": 35,
        "trademark": 40,
        "utility_model": 20,
        "design_patent": 5,
    },
    "M": {
        "invention_patent": 40,
        "utility_model": 30,
        "trademark": 25,
        "design_patent": 5,
    },
}
_IP_DEFAULT_MIX = {
    "trademark": 70,
    "utility_model": 15,
    "design_patent": 10,
    "invention_patent": 5,
}
_IP_RATE = {"I": 0.6, "M": 0.6, "C": 0.45}
_PATENT_KIND = {"invention_patent": 1, "utility_model": 2, "design_patent": 3}
_PATENT_LAG = {"invention_patent": 2, "utility_model": 1, "design_patent": 0}
_TECH = ("深度学习", "物联网", "多传感器融合", "边缘计算", "区块链", "机器视觉")
_TASKS = ("图像识别", "数据传输", "电池管理", "温度控制", "室内定位", "故障诊断")
_DEVICES = ("散热结构", "夹持装置", "连接器", "检测治具", "送料机构", "防水外壳")
_FEATURES = ("便于拆装的", "可调节的", "高精度的", "节能型", "自动化")
_PRODUCTS = ("智能音箱", "蓝牙耳机", "充电器", "显示支架", "控制面板", "灯具")


def _patent_check_digit(digits: str) -> str:
    """The check digit of a 12-digit Chinese patent application number (mod 11)."""
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return "X" if total == 10 else str(total)


def _ip_title(rng: random.Random, ip_type: str) -> str:
    if ip_type == "invention_patent":
        return f"一种基于{_pick(rng, _TECH)}的{_pick(rng, _TASKS)}方法及系统"
    if ip_type == "utility_model":
        return f"一种{_pick(rng, _FEATURES)}{_pick(rng, _DEVICES)}"
    if ip_type == "design_patent":
        return f"{_pick(rng, _PRODUCTS)}（{_pick(rng, 'ABCDEFGHKMX')}{int(rng.random() * 9) + 1}）"
    brand = _pick(rng, _NAME_HEADS) + _pick(rng, _NAME_TAILS)
    return f"{brand}（第{_pick(rng, (7, 9, 11, 35, 42))}类）"


def _intellectual_property(
    profile: FirmProfile, as_of: dt.date
) -> list[dict[str, Any]]:
    h = profile.health
    mix = _IP_MIX.get(profile.industry, _IP_DEFAULT_MIX)
    rate = _IP_RATE.get(profile.industry, 0.1) * math.exp(0.6 * h)
    rate *= (profile.size / 20) ** 0.4
    records = []
    used: set[tuple[int, int]] = set()
    for k, day, rng in _events(profile, "intellectual_property", rate, as_of):
        ip_type = _weighted(rng, mix)
        if ip_type == "trademark":
            serial = _unique(10_000_000 + int(rng.random() * 70_000_000), 0, used)
            number = str(serial)
            term_years = 10 * (2 if rng.random() < 0.75 else 1)  # renewed once or not
            filed = dt.date(day.year, day.month, min(day.day, 28))
        else:
            filed_year = day.year - _PATENT_LAG[ip_type]
            serial = _unique(int(rng.random() * 10_000_000), filed_year, used)
            digits = f"{filed_year}{_PATENT_KIND[ip_type]}{serial:07d}"
            number = f"ZL{digits}.{_patent_check_digit(digits)}"
            term_years = {"invention_patent": 20, "utility_model": 10}.get(ip_type, 15)
            if ip_type == "design_patent" and filed_year < 2021:
                term_years = 10
            filed = dt.date(filed_year, day.month, min(day.day, 28))
        expires_on = filed + relativedelta(years=term_years)
        lapses_on = None
        if ip_type != "trademark" and rng.random() < _sigmoid(-1.0 - 0.8 * h):
            lapses_on = _add_days(day, _uniform(rng, 2, 8) * 365.25)
        revoked_on = None
        if rng.random() < 0.02:
            revoked_on = _add_days(day, _uniform(rng, 1, 5) * 365.25)
        status = "valid"
        ends = [d for d in (expires_on, lapses_on, revoked_on) if d and d <= as_of]
        if ends:
            status = "revoked" if min(ends) == revoked_on else "expired"
        values = {
            "ip_type": ip_type,
            "number": number,
            "title": _ip_title(rng, ip_type),
            "granted_on": day,
            "status": status,
        }
        record_id = f"int-{profile.uscc}-{k:03d}"
        records.append(_record("intellectual_property", record_id, values))
    return records


_GENERATORS: dict[str, Callable[[FirmProfile, dt.date], list[dict[str, Any]]]] = {
    Category.REGISTRATION.value: _registration,
    Category.TAX.value: _tax,
    Category.SOCIAL_INSURANCE.value: _social_insurance,
    Category.HOUSING_FUND.value: _housing_fund,
    Category.UTILITIES.value: _utilities,
    Category.CUSTOMS.value: _customs,
    Category.INTELLECTUAL_PROPERTY.value: _intellectual_property,
    Category.ADMINISTRATIVE.value: _administrative,
    Category.COURT.value: _court,
    Category.ABNORMAL_OPERATION.value: _abnormal_operation,
    Category.HONOURS.value: _honours,
    Category.CREDIT_COMMITMENTS.value: _credit_commitments,
}


def records_for(uscc: str, category: str, as_of: dt.date) -> list[dict[str, Any]]:
    """The wire records of ``category`` the provider holds on ``uscc`` as of ``as_of``.

    Deterministic, ordered by date, nothing dated after ``as_of`` (monthly periods
    before ``as_of``'s month), and a record's id and dated facts never change when
    ``as_of`` moves later (lifecycle fields move forward, see the module docstring).
    A firm not yet founded on ``as_of`` has no records at all. Raises ``ValueError``
    for an unknown category; ``uscc`` is assumed valid (the API validates it).
    """
    generator = _GENERATORS.get(str(category))
    if generator is None:
        raise ValueError(f"unknown category {category!r}")
    profile = firm_profile(uscc)
    if as_of < profile.founded_on:
        return []
    return generator(profile, as_of)
