from django.urls import path

from preservation.api import token_views
from preservation.reminders import views as notification_views
from preservation.requests.views import dashboard, detail, intake, sending

app_name = "preservation"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("requests/search/", dashboard.dashboard_search, name="dashboard_search"),
    path("requests/export.csv", dashboard.dashboard_csv, name="dashboard_csv"),
    path("requests/new/", intake.request_new, name="request_new"),
    path("requests/check-serial/", intake.serial_check, name="serial_check"),
    path("requests/check-urgency/", intake.urgency_check, name="urgency_check"),
    path("requests/<uuid:public_id>/", detail.request_detail, name="request_detail"),
    path("requests/<uuid:public_id>/edit/", intake.request_edit, name="request_edit"),
    path("requests/<uuid:public_id>/send/", sending.request_send, name="request_send"),
    path("requests/<uuid:public_id>/approve/", detail.request_action, {"action": "approve"}, name="request_approve"),
    path("requests/<uuid:public_id>/ask-approval/", detail.request_action, {"action": "ask_approval"},
         name="request_ask_approval"),
    path("requests/<uuid:public_id>/review-emergency/", detail.request_action, {"action": "review_emergency"},
         name="request_review_emergency"),
    path("requests/<uuid:public_id>/assign/", detail.request_action, {"action": "assign"}, name="request_assign"),
    path("requests/<uuid:public_id>/extension/send/", sending.request_extension_page, name="request_extension_page"),
    path("requests/bulk/", dashboard.requests_bulk, name="requests_bulk"),
    path("requests/<uuid:public_id>/sent/", detail.request_action, {"action": "send"}, name="request_record_sending"),
    path("requests/<uuid:public_id>/receipt/", detail.request_action, {"action": "record_receipt"},
         name="request_record_receipt"),
    path("requests/<uuid:public_id>/extension/", detail.request_action, {"action": "send_extension"},
         name="request_send_extension"),
    path("requests/<uuid:public_id>/extension-receipt/", detail.request_action,
         {"action": "record_extension_receipt"}, name="request_record_extension_receipt"),
    path("requests/<uuid:public_id>/legal-process/", detail.request_action, {"action": "record_legal_process"},
         name="request_record_legal_process"),
    path("requests/<uuid:public_id>/correct/", detail.request_action, {"action": "correct"}, name="request_correct"),
    path("requests/<uuid:public_id>/close/", detail.request_action, {"action": "close"}, name="request_close"),
    path("requests/<uuid:public_id>/withdraw/", detail.request_action, {"action": "withdraw"},
         name="request_withdraw"),
]

# Reminders: notifications, preferences and calendar feeds (preservation/reminders/views.py).
urlpatterns += [
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/<uuid:public_id>/read/", notification_views.notification_read, name="notification_read"),
    path("notifications/read-all/", notification_views.notification_read_all, name="notification_read_all"),
    path("reminders/settings/", notification_views.reminder_preferences, name="reminder_preferences"),
    path("reminders/calendar/new-address/", notification_views.calendar_feed_regenerate,
         name="calendar_feed_regenerate"),
    path("calendar/<str:token>.ics", notification_views.calendar_feed, name="calendar_feed"),
    path("requests/<uuid:public_id>/calendar.ics", notification_views.request_ics, name="request_ics"),
    path("account/api-tokens/", token_views.token_list, name="api_tokens"),
    path("account/api-tokens/<uuid:public_id>/revoke/", token_views.token_revoke, name="api_token_revoke"),
]

# Documents: generate, progress, download, agency letterhead (preservation/documents/views.py).
from preservation.documents import views as document_views  # noqa: E402

urlpatterns += [
    path("requests/<uuid:public_id>/documents/<slug:kind>/", document_views.document_generate,
         name="document_generate"),
    path("documents/<uuid:public_id>/status/", document_views.document_status, name="document_status"),
    path("documents/<uuid:public_id>/download/", document_views.document_download, name="document_download"),
    path("agency/letterhead/", document_views.agency_branding, name="agency_branding"),
]

# USB evidence manifests: CSV and PDF downloads (preservation/evidence/views.py).
from preservation.evidence import views as evidence_views  # noqa: E402

urlpatterns += [
    path("evidence/<uuid:public_id>/manifest.csv", evidence_views.manifest_download, {"fmt": "csv"},
         name="manifest_csv"),
    path("evidence/<uuid:public_id>/manifest.pdf", evidence_views.manifest_download, {"fmt": "pdf"},
         name="manifest_pdf"),
]

# Correspondence: the log of each request and the agency's mail inbox (docs/correspondence.md).
from preservation.correspondence import urls as correspondence_urls  # noqa: E402

urlpatterns += correspondence_urls.urlpatterns

# Addresses by number from before the opaque ids redirect to the new ones (docs/security.md
# "Opaque identifiers"); derived from the routes above, so they come last.
from preservation.legacy_addresses import legacy_patterns  # noqa: E402

urlpatterns += legacy_patterns(urlpatterns, app_name)
