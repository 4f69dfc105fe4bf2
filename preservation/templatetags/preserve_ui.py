"""Small display helpers shared by the request pages."""
from django import template

from ..deadlines import Urgency
from ..models import DeadlineKind, RequestState
from ..presentation import URGENCY_ICONS, URGENCY_STYLES

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
