"""English dates as Preserve writes them: day, month, year and a 24-hour clock, the same on pages,
PDFs and emails (Django's English default is "March 1, 2026, 6 a.m."). German, French and Spanish
use Django's own formats for their language ("1. März 2026", "1 mars 2026", "1 de marzo de 2026")."""

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
