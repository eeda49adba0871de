"""Reference codes every app shares and no app owns: the public-credit data categories
of the national catalogue, Shenzhen's districts and the GB/T 4754-2017 industry
sections, each with the label users see (stored codes are never shown)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    REGISTRATION = "registration", _("Business registration")
    TAX = "tax", _("Tax")
    SOCIAL_INSURANCE = "social_insurance", _("Social insurance")
    HOUSING_FUND = "housing_fund", _("Housing provident fund")
    UTILITIES = "utilities", _("Utilities (water, electricity, gas)")
    CUSTOMS = "customs", _("Customs import and export")
    INTELLECTUAL_PROPERTY = "intellectual_property", _("Patents and trademarks")
    ADMINISTRATIVE = "administrative", _("Administrative licences and penalties")
    COURT = "court", _("Court judgements and enforcement")
    ABNORMAL_OPERATION = "abnormal_operation", _("Abnormal-operation list")
    HONOURS = "honours", _("Honours and red list")
    CREDIT_COMMITMENTS = "credit_commitments", _("Credit commitments")


# Shenzhen's districts (and the two functional areas with district-level government).
DISTRICTS = {
    "440303": _("Luohu"),
    "440304": _("Futian"),
    "440305": _("Nanshan"),
    "440306": _("Bao'an"),
    "440307": _("Longgang"),
    "440308": _("Yantian"),
    "440309": _("Longhua"),
    "440310": _("Pingshan"),
    "440311": _("Guangming"),
    "440312": _("Dapeng New Area"),
    "440313": _("Shenzhen-Shanwei Special Cooperation Zone"),
}

# GB/T 4754-2017 sections (门类).
INDUSTRIES = {
    "A": _("Agriculture, forestry, animal husbandry and fishery"),
    "B": _("Mining"),
    "C": _("Manufacturing"),
    "D": _("Electricity, heat, gas and water supply"),
    "E": _("Construction"),
    "F": _("Wholesale and retail"),
    "G": _("Transport, storage and postal services"),
    "H": _("Accommodation and catering"),
    "I": _("Information transmission, software and IT services"),
    "J": _("Finance"),
    "K": _("Real estate"),
    "L": _("Leasing and business services"),
    "M": _("Scientific research and technical services"),
    "N": _("Water conservancy, environment and public facilities"),
    "O": _("Resident services, repair and other services"),
    "P": _("Education"),
    "Q": _("Health and social work"),
    "R": _("Culture, sports and entertainment"),
    "S": _("Public administration, social security and social organizations"),
    "T": _("International organizations"),
}
