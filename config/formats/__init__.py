"""Project overrides of Django's locale formats (``FORMAT_MODULE_PATH``).

Only the names set here differ from Django's own locale modules; everything else
(date input formats, first day of the week, …) falls back to Django's.
"""
