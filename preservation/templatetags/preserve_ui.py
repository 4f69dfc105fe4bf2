"""Small display helpers shared by the request pages."""
from django import forms, template
from django.forms.utils import flatatt
from django.forms.widgets import Input
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from preservation.core.presentation import (
    URGENCY_ICONS,
    URGENCY_STYLES,
    correction_lines,
    day_text,
    instant_text,
    instant_utc_text,
    options_html,
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
        options = options_html(bound_field.field.choices, {chosen})
        return format_html('<select name="{}"{}>{}</select>', bound_field.html_name, flatatt(attrs), options)
    value = widget.format_value(value)
    if value is not None:
        attrs["value"] = value
    return format_html('<input type="{}" name="{}"{}>', widget.input_type, bound_field.html_name, flatatt(attrs))


_PLAIN_WIDGETS = (Input.get_context, forms.Select.get_context, forms.Widget.get_context)


@register.filter
def light_crispy_field(bound_field):
    """``as_crispy_field`` (bootstrap5, no form helper) for a text, number, date, email or
    single-choice field or a text area, written here instead of through crispy's field
    templates: those were half the intake page's time (bench/_profile_pages.py). The same
    markup as crispy's, attribute for attribute (tests/test_dashboard_speed.py compares them);
    any other kind of field is left to crispy."""
    from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field

    widget = bound_field.field.widget
    if (bound_field.is_hidden or getattr(bound_field.form, "helper", None) is not None or bound_field.use_fieldset
            or isinstance(widget, (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple,
                                   forms.FileInput, forms.MultiWidget))
            or not isinstance(widget, (Input, forms.Select, forms.Textarea))
            or getattr(widget, "allow_multiple_selected", False)):
        return as_crispy_field(bound_field)
    errors = bound_field.errors
    # What crispy's {% crispy_field %} does to the widget: its class name, then Bootstrap's classes.
    class_name = type(widget).__name__.lower()
    css_class = widget.attrs.get("class", "")
    if css_class:
        if css_class.find(class_name) == -1:
            css_class += " %s" % class_name
    else:
        css_class = class_name
    wanted = "form-select" if isinstance(widget, forms.Select) else "form-control"
    for name in (wanted + " is-invalid" if errors else wanted).split():
        if name not in css_class.split():
            css_class += " " + name
    widget.attrs["class"] = css_class
    try:
        if type(widget).render is not forms.Widget.render or type(widget).get_context not in _PLAIN_WIDGETS:
            raise TypeError("a widget of its own")
        rendered = light_widget(bound_field)
    except TypeError:
        rendered = str(bound_field)
    required = bound_field.field.required
    label = ""
    if bound_field.label:
        label = format_html(
            '<label{} class="form-label{}">{}{}</label>',
            format_html(' for="{}"', bound_field.id_for_label) if bound_field.id_for_label else "",
            " requiredField" if required else "", bound_field.label,
            mark_safe('<span class="asteriskField">*</span>') if required else "")
    error_block = ""
    if errors:
        error_block = format_html('<div id="{}_error" class="invalid-feedback">{}</div>', errors.field_id, format_html_join(
            "", '<p id="error_{}_{}"><strong>{}</strong></p>',
            ((n, bound_field.auto_id, error) for n, error in enumerate(errors, 1))))
    help_block = ""
    if bound_field.help_text:
        help_block = format_html('<div {}class="form-text">{}</div>',
                                 format_html('id="{}_helptext" ', bound_field.auto_id) if bound_field.auto_id else "",
                                 mark_safe(bound_field.help_text))
    css_classes = bound_field.css_classes()
    return format_html('<div id="div_{}" class="mb-3{}">{}{}{}{}</div>', bound_field.auto_id,
                       " " + css_classes if css_classes else "", label, rendered, error_block, help_block)
