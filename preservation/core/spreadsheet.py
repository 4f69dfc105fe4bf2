"""Cells of the CSV files we export, made safe for spreadsheet programs (docs/security.md
"CSV exports").

A cell starting with = + - @ (or a tab or carriage return) is run as a formula. Spreadsheets set
to a language whose list separator is the semicolon (German, French and Spanish Excel) also
split a cell at each ";", so every part after a semicolon is a cell start as well. Each such
start gets the usual neutraliser, a leading apostrophe.
"""
import re

_FORMULA_START = re.compile(r"(^|;)(\s*)([=+\-@\t\r])")


def safe_cell(value):
    text = "" if value is None else str(value)
    return _FORMULA_START.sub(lambda m: "%s%s'%s" % (m.group(1), m.group(2), m.group(3)), text)
