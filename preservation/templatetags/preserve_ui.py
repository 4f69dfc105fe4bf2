"""Small display helpers shared by the request pages."""
from django import forms, template
from django.forms.utils import flatatt
from django.forms.widgets import Input
from django.utils.html import format_html, format_html_join

from preservation.core.presentation import (
    URGENCY_ICONS,
    URGENCY_STYLES,
    correction_lines,
    day_text,
    instant_text,
    instant_utc_text,
)
from preservation.models import DeadlineKind, RequestState
from preservation.rules.deadlines import Urgency

register = template.Library()


@register.inclusion_tag("preservation/_urgency_badge.html")
def urgency_badge(code):
    """Urgency as colour, icon AND words: colour is never the only signal."""
    if not code:
        return {"code": ""}
    return {
        "code": code, "label": Urgency(code).label,
        "icon": URGENCY_ICONS[code], "style": URGENCY_STYLES[code],
    }


@register.simple_tag
def urgency_style(code):
    return URGENCY_STYLES.get(code, "info")


@register.simple_tag
def urgency_icon(code):
    return URGENCY_ICONS.get(code, "")


# Dates and times as people read them, one rule everywhere (docs/dates.md). The ``date``
# filter would first move an instant into the active time zone, whatever zone the page names.


@register.filter
def instant(value, zone):
    """“1 December 2026, 21:00 EST”: an instant on ``zone``'s wall clock with its abbreviation."""
    return instant_text(value, zone) if value else ""


@register.filter
def instant_utc(value, zone):
    """An instant Blink also reads: in ``zone`` with UTC beside it."""
    return instant_utc_text(value, zone) if value else ""


@register.filter
def day(value):
    """A calendar date (a deadline in the agency's zone)."""
    return day_text(value) if value else ""


@register.filter
def corrections(event, zone):
    """The “from → to” lines of a correction in the history."""
    return correction_lines(event, zone) if event.action == "corrected" else []


# A dashboard page shows 25 rows: a dictionary lookup per cell instead of get_FOO_display(),
# which rebuilds the field's choices on every call.
_STATE_LABELS = dict(RequestState.choices)
_DEADLINE_KIND_LABELS = dict(DeadlineKind.choices)


@register.filter
def state_label(code):
    return _STATE_LABELS.get(code, code)


@register.filter
def deadline_kind_label(code):
    return _DEADLINE_KIND_LABELS.get(code, code)


@register.filter
def light_widget(bound_field):
    """A text, number or single-choice field as Django renders it (same attributes: id, value,
    maxlength, min, max, aria-invalid, aria-describedby), without a template per input and per
    option: the dashboard's filter form was a fifth of the page's time (bench/dashboard.py)."""
    widget = bound_field.field.widget
    if isinstance(widget, forms.Select) and not widget.allow_multiple_selected:
        kind = "select"
    elif isinstance(widget, Input) and widget.input_type not in ("checkbox", "radio", "file"):
        kind = "input"
    else:
        raise TypeError("light_widget renders text, number and select fields, not %s" % type(widget).__name__)
    attrs = widget.build_attrs(widget.attrs, bound_field.build_widget_attrs({"id": bound_field.auto_id}, widget))
    value = bound_field.value()
    if kind == "select":
        chosen = "" if value is None else str(value)
        if any(isinstance(label, (list, tuple)) for _choice, label in bound_field.field.choices):
            raise TypeError("light_widget renders flat choices, not option groups")
        options = format_html_join("", '<option value="{}"{}>{}</option>', (
            (choice, " selected" if str(choice) == chosen else "", label)
            for choice, label in bound_field.field.choices
        ))
        return format_html('<select name="{}"{}>{}</select>', bound_field.html_name, flatatt(attrs), options)
    value = widget.format_value(value)
    if value is not None:
        attrs["value"] = value
    return format_html('<input type="{}" name="{}"{}>', widget.input_type, bound_field.html_name, flatatt(attrs))
