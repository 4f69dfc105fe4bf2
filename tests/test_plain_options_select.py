"""The time-zone select renders its ~600 options without a template per option; what it
writes must be what Django's own Select writes for the same field."""
import pytest
from django import forms
from django.test.html import parse_html

from preservation.requests.forms import PlainOptionsSelect, RequestForm
from tests.factories import AgencyFactory

CHOICES = [("America/New_York", "America/New_York"), ("Europe/Berlin", "Europe/Berlin"),
           ('x"><script>', "<b>&amp;</b>")]


def _both(value, attrs):
    class Plain(forms.Form):
        zone = forms.ChoiceField(choices=CHOICES, widget=PlainOptionsSelect(attrs={"class": "form-select"}),
                                 help_text="Typed in this zone.")

    class Django(forms.Form):
        zone = forms.ChoiceField(choices=CHOICES, widget=forms.Select(attrs={"class": "form-select"}),
                                 help_text="Typed in this zone.")

    return (str(Plain(initial={"zone": value}, **attrs)["zone"]),
            str(Django(initial={"zone": value}, **attrs)["zone"]))


@pytest.mark.parametrize("value, attrs", [
    ("Europe/Berlin", {}),
    (None, {}),
    ('x"><script>', {"prefix": "draft"}),
])
def test_it_writes_what_djangos_select_writes(value, attrs):
    plain, django = _both(value, attrs)
    assert parse_html(plain) == parse_html(django)
    assert "<script>" not in plain


def test_the_intake_form_uses_it_for_the_time_zone(db):
    form = RequestForm(agency=AgencyFactory(), initial={"window_zone": "America/Chicago"})
    html = str(form["window_zone"])
    assert isinstance(form.fields["window_zone"].widget, PlainOptionsSelect)
    assert '<option value="America/Chicago" selected>America/Chicago</option>' in html
    assert html.count("<option") == len(form.fields["window_zone"].choices)


def test_each_intake_form_shares_the_zone_choices_instead_of_copying_them(db):
    agency = AgencyFactory()
    first, second = RequestForm(agency=agency), RequestForm(agency=agency)
    assert first.fields["window_zone"] is not second.fields["window_zone"]  # the fields are each form's own
    assert first.fields["window_zone"].choices is RequestForm.base_fields["window_zone"].choices
    assert second.fields["window_zone"].choices is RequestForm.base_fields["window_zone"].choices
    assert first.fields["window_zone"].widget is not RequestForm.base_fields["window_zone"].widget
    first.fields["window_zone"].choices = [("UTC", "UTC")]  # a form that needs others still may
    assert len(second.fields["window_zone"].choices) > 400
    assert str(second["window_zone"]).count("<option") == len(second.fields["window_zone"].choices)


def test_a_bound_intake_form_still_checks_the_zone_against_the_choices(db):
    form = RequestForm({"window_zone": "Mars/Olympus_Mons"}, agency=AgencyFactory())
    assert not form.is_valid()
    assert "window_zone" in form.errors
