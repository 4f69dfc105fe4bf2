"""The next step of a request (preservation/next_step.py): one action, its date and the reason,
for every state, at the edges of each rule. Pure: no database, time passed in."""
import datetime as dt

import pytest

from preservation.rules import next_step
from preservation.rules.next_step import Facts

UTC = dt.timezone.utc
ZONE = "America/New_York"
# 12:00 UTC on 20 April 2026 is 08:00 in New York: "today" is 20 April there.
NOW = dt.datetime(2026, 4, 20, 12, tzinfo=UTC)
TODAY = dt.date(2026, 4, 20)


def at(day, hour=12):
    return dt.datetime.combine(day, dt.time(hour), tzinfo=UTC)


def step(**facts):
    return next_step.next_step(Facts(zone=ZONE, **facts), now=NOW)


def draft(**extra):
    return {"state": "draft", "first_loss_at": at(dt.date(2026, 4, 29)),
            "total_loss_at": at(dt.date(2026, 4, 30)), **extra}


@pytest.mark.parametrize("facts, action, group, due", [
    (draft(), "send", "yours", TODAY),
    (draft(first_loss_at=None, total_loss_at=None), "complete", "yours", TODAY),
    # Sent, but no clock stored: the legal process is still the way on.
    ({"state": "preserving"}, "serve_legal_process", "yours", None),
    ({"state": "extension_requested"}, "serve_legal_process", "yours", None),
    ({"state": "extended"}, "serve_legal_process", "yours", None),
    ({"state": "lapsed"}, "close", "yours", TODAY),
    ({"state": "submitted"}, "chase_receipt", "yours", TODAY),
    (draft(approval_required=True), "ask_approval", "yours", TODAY),
    (draft(approval_required=True, approval_requested=True), "await_approval", "waiting", TODAY),
    (draft(approval_required=True, approved=True), "send", "yours", TODAY),
    # Sent on the 18th: Blink has until the 21st to acknowledge (3 days), then chase.
    ({"state": "submitted", "sent_at": at(dt.date(2026, 4, 18))}, "record_receipt", "waiting", dt.date(2026, 4, 21)),
    ({"state": "submitted", "sent_at": at(dt.date(2026, 4, 17))}, "chase_receipt", "yours", TODAY),
    # 14 days or fewer before the extension's send-by date, the extension is the step.
    ({"state": "preserving", "extension_send_by": dt.date(2026, 5, 4), "expires_on": dt.date(2026, 5, 11)},
     "send_extension", "yours", dt.date(2026, 5, 4)),
    ({"state": "preserving", "extension_send_by": dt.date(2026, 5, 5), "expires_on": dt.date(2026, 5, 12)},
     "serve_legal_process", "yours", dt.date(2026, 5, 12)),
    ({"state": "preserving", "extension_send_by": dt.date(2026, 4, 19), "expires_on": dt.date(2026, 4, 26)},
     "send_extension", "yours", dt.date(2026, 4, 26)),
    ({"state": "extension_requested", "extension_sent_at": at(dt.date(2026, 4, 18)),
      "expires_on": dt.date(2026, 4, 26)}, "record_extension_receipt", "waiting", dt.date(2026, 4, 21)),
    ({"state": "extension_requested", "extension_sent_at": at(dt.date(2026, 4, 17)),
      "expires_on": dt.date(2026, 4, 26)}, "chase_extension_ack", "yours", dt.date(2026, 4, 26)),
    ({"state": "extended", "final_expires_on": dt.date(2026, 9, 1)}, "serve_legal_process", "yours",
     dt.date(2026, 9, 1)),
    ({"state": "legal_process_served"}, "close", "waiting", None),
    ({"state": "lapsed", "expires_on": dt.date(2026, 4, 10)}, "close", "yours", TODAY),
    ({"state": "closed"}, "none", "done", None),
    ({"state": "withdrawn"}, "none", "done", None),
])
def test_each_state_has_one_next_step(facts, action, group, due):
    result = step(**facts)
    assert (result.action, result.group, result.due) == (action, group, due)
    assert result.reason


def test_a_draft_says_send_today_and_when_the_oldest_clip_goes():
    assert step(**draft()).reason == (
        "Send it to Blink today. The oldest clip is deleted on 29 April 2026 (9 days).")


def test_a_legacy_device_explains_why_a_distant_deletion_is_critical():
    far = draft(first_loss_at=at(dt.date(2026, 6, 8)), total_loss_at=at(dt.date(2026, 6, 9)),
                urgency="critical", legacy=True)
    assert "legacy device" in step(**far).reason and "49 days" in step(**far).reason


def test_clips_being_deleted_name_when_the_newest_goes():
    losing = draft(first_loss_at=at(dt.date(2026, 4, 19)), total_loss_at=at(dt.date(2026, 4, 25)))
    assert "newest goes on 25 April 2026" in step(**losing).reason


def test_one_day_left_is_singular():
    assert "(1 day)" in step(**draft(first_loss_at=at(dt.date(2026, 4, 21)))).reason


def test_the_missing_acknowledgement_says_chase_them():
    reason = step(state="extension_requested", extension_sent_at=at(dt.date(2026, 4, 10)),
                  expires_on=dt.date(2026, 4, 26)).reason
    assert reason.startswith("Blink has not acknowledged the extension") and "chase them" in reason


def test_today_is_the_agencys_day_not_utcs():
    # 02:00 UTC on the 21st is still the 20th in New York: sent on the 17th (local), chase from
    # the 20th; sent on the 18th local (late evening), not yet.
    late = dt.datetime(2026, 4, 21, 2, tzinfo=UTC)
    sent = dt.datetime(2026, 4, 19, 1, tzinfo=UTC)  # 21:00 on the 18th in New York
    result = next_step.next_step(Facts(zone=ZONE, state="submitted", sent_at=sent), now=late)
    assert (result.action, result.due) == ("record_receipt", dt.date(2026, 4, 21))
