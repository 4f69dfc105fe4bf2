"""Pasting serials as people paste them: from labels (spaces, hyphens), from spreadsheets
(tabs and newlines), from lists (commas, semicolons); one row per serial."""
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from preservation.rules import serials
from tests.helpers import login

# Thirty serials as a spreadsheet copies them: three columns, ten rows, written as people
# write them (label groups with spaces or hyphens, lower case, legacy 9-digit serials).
VALID = [
    "G8T1 3DNE P6LH XDGA", "G8T1-SJ02-3294-01VR", "638241420", "g8t1 lpff f402 3s6s", "G8T1SJ0232940J1V",
    "G8T1-9412-3135-0JD5", "G8T1 K0AB 1234 5678", "738241421", "G8T1 V7CD 2345 6789", "G8T1-9012-3456-7890",
]
BLOCK = "\n".join("\t".join(VALID[(row + column) % 10] for column in range(3)) for row in range(10)) + "\n"


def test_the_thirty_serial_spreadsheet_block_gives_thirty_rows():
    pieces = serials.split_serials(BLOCK)
    assert len(pieces) == 30
    assert all(serials.parse_serial(piece).valid for piece in pieces)


SPLITS = [
    ("G8T1 3DNE P6LH XDGA\tG8T1-SJ02-3294-01VR", ["G8T1 3DNE P6LH XDGA", "G8T1-SJ02-3294-01VR"]),
    ("G8T1 SJ02 3294 01VR G8T1 LPFF F402 3S6S", ["G8T1 SJ02 3294 01VR", "G8T1 LPFF F402 3S6S"]),
    ("638241420 638241421; G8T1-12", ["638241420", "638241421", "G8T1-12"]),
    ("G8T1 - SJ02 - 3294 - 01VR", ["G8T1 - SJ02 - 3294 - 01VR"]),
    # A typo keeps its groups together: one row to fix, not four.
    ("G8T1 3DNE P6LH XDG\t638241420", ["G8T1 3DNE P6LH XDG", "638241420"]),
    ("a,,b;;\t\t\n\nc", ["a", "b", "c"]),
    ("", []),
]


@pytest.mark.parametrize("text, expected", SPLITS)
def test_a_paste_is_split_into_one_piece_per_serial(text, expected):
    assert serials.split_serials(text) == expected


def test_a_lowercase_l_is_read_as_the_letter_and_says_so():
    result = serials.parse_serial("G8T1-SJ02-3294-0lVR")
    assert result.valid and result.normalized == "G8T1SJ0232940LVR"
    assert "lowercase_l" in [warning.code for warning in result.warnings]
    assert "lowercase_l" not in [w.code for w in serials.parse_serial("G8T1-SJ02-3294-01VR").warnings]


def test_check_serial_json_keeps_its_keys_and_adds_the_warning():
    out = StringIO()
    call_command("check_serial", "G8T1-SJ02-3294-0lVR", "--json", stdout=out)
    (row,) = json.loads(out.getvalue())
    assert {"input", "valid", "normalized", "display", "warnings"} <= set(row)
    assert "lowercase_l" in [warning["code"] for warning in row["warnings"]]


@pytest.mark.django_db
def test_the_paste_check_answers_one_result_per_serial(client, user):
    login(client, user)
    body = client.post(reverse("preservation:serial_check"), {"paste": BLOCK}).json()
    assert len(body["serials"]) == 30 and all(result["valid"] for result in body["serials"])
