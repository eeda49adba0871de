"""English formats: a month of a monthly series reads "Mar 2026" (Django: "March
2026"), short enough for a table column of twelve or thirty-six months."""

YEAR_MONTH_FORMAT = "M Y"
