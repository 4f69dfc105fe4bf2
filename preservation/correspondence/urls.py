from django.urls import path

from preservation.correspondence import views

urlpatterns = [
    path("correspondence/requests/<uuid:public_id>/%s/" % action.replace("_", "-"), views.correspondence_add,
         {"action": action}, name="correspondence_%s" % action)
    for action in views.ACTIONS
] + [
    path("correspondence/<uuid:public_id>/download/", views.entry_download, name="correspondence_download"),
    path("mail/", views.inbox, name="mail_inbox"),
    path("mail/upload/", views.inbox_upload, name="mail_upload"),
    path("mail/<uuid:public_id>/", views.message_detail, name="mail_message"),
    path("mail/<uuid:public_id>/message.eml", views.message_raw, name="mail_raw"),
    path("mail/<uuid:public_id>/attach/", views.message_attach, name="mail_attach"),
    path("mail/<uuid:public_id>/receipt/", views.message_confirm_receipt, name="mail_confirm_receipt"),
]
