"""Simplified Chinese formats, as Chinese bank and tax documents write amounts.

Django's zh_Hans module groups digits by four with no separator, which renders
1234567.89 with no visible grouping at all; money on bank statements, tax receipts
and loan contracts is written 1,234,567.89 (千分位). Grouping is still applied only
where a number asks for it (``core.templatetags.formatting``, ``floatformat:"g"``):
``USE_THOUSAND_SEPARATOR`` stays off, so ids and years never get a comma.
"""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
