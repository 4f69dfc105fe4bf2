"""The correspondence log of a request in the REST API: read it, add a note or a provider
reference (``/api/v1/requests/<id>/correspondence/``). Entries are never changed."""
import uuid

from django.db.models import F
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from preservation.requests import selectors
from preservation.api.serializers import BoundedDateField, DeprecatedIdField
from preservation.api.views import ID_PARAMETER, HasAgency
from preservation.models import CorrespondenceKind, PreservationRequest

from preservation.correspondence import services


class EntrySerializer(serializers.Serializer):
    id = DeprecatedIdField(help_text=_("Deprecated: use public_id."))
    public_id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=CorrespondenceKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    text = serializers.CharField()
    reference = serializers.CharField()
    given_on = serializers.DateField(allow_null=True)
    filename = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    message_id = serializers.CharField(help_text=_("The Message-ID of a letter sent by email."))
    received_message = DeprecatedIdField(source="inbound_message_id", allow_null=True,
                                         help_text=_("Deprecated: use received_message_public_id."))
    received_message_public_id = serializers.UUIDField(allow_null=True, default=None)
    corrects = DeprecatedIdField(source="corrects_id", allow_null=True, help_text=_("Deprecated: use corrects_public_id."))
    corrects_public_id = serializers.UUIDField(allow_null=True, default=None)


# What the API may add; files and mail come in through the web pages and the mail commands.
NEW_ENTRY_KINDS = [CorrespondenceKind.NOTE, CorrespondenceKind.REFERENCE]


class EntryInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=NEW_ENTRY_KINDS)
    text = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    reference = serializers.CharField(required=False, allow_blank=True, max_length=200)
    given_on = BoundedDateField(required=False)

    def perform(self, request, actor):
        data = self.validated_data
        if data["kind"] == CorrespondenceKind.NOTE:
            return services.entry_add_note(preservation_request=request, actor=actor, text=data.get("text", ""))
        if "given_on" not in data:
            raise serializers.ValidationError({"given_on": [_("Enter the date the provider gave the reference.")]})
        return services.entry_add_reference(preservation_request=request, actor=actor, reference=data.get("reference", ""),
                                            given_on=data["given_on"])


class CorrespondenceView(APIView):
    permission_classes = [permissions.IsAuthenticated, HasAgency]

    def _request(self, id):
        try:
            return selectors.requests_for_user(self.request.user).select_related("agency").get(public_id=uuid.UUID(str(id)))
        except (ValueError, PreservationRequest.DoesNotExist):
            raise exceptions.NotFound() from None

    @extend_schema(summary=_("The request's correspondence, oldest first"), responses=EntrySerializer(many=True),
                   parameters=[ID_PARAMETER])
    def get(self, request, id):
        entries = (self._request(id).correspondence.without_content().select_related("actor")
                   .annotate(received_message_public_id=F("inbound_message__public_id"),
                             corrects_public_id=F("corrects__public_id")).order_by("at", "pk"))
        return Response(EntrySerializer(entries, many=True).data)

    @extend_schema(summary=_("Add a note or a provider reference to the correspondence"),
                   request=EntryInputSerializer, responses={201: EntrySerializer}, parameters=[ID_PARAMETER])
    def post(self, request, id):
        target = self._request(id)
        serializer = EntryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = serializer.perform(target, request.user)
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)
