"""API endpoints: thin. Reads go through selectors (agency-scoped), writes through services."""
import uuid
from datetime import datetime, timezone

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.response import Response
from rest_framework.views import APIView

from preservation.api import idempotency
from preservation.api import serializers as s
from preservation.core import permissions as roles
from preservation.core.audit import audit_record, search_summary
from preservation.documents import services as documents
from preservation.models import DocumentState, GeneratedDocument, Reminder, RequestEvent
from preservation.requests import selectors, services
from preservation.rules import identifiers


class HasAgency(permissions.BasePermission):
    message = _("Your account belongs to no agency, so it has no requests.")
    code = "no_agency"

    def has_permission(self, request, view):
        return request.user.agency_id is not None


class CanChangeRequest(permissions.BasePermission):
    """Reading is for the whole agency; changing follows the web's role rules."""

    message = _("Your role does not allow changing this request.")
    code = "permission_denied"

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS or getattr(view, "action", None) in view.any_member_actions:
            return True
        return roles.can_edit_request(request.user, obj)


IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER, type=str, location=OpenApiParameter.HEADER, required=False,
    description=_("Up to 255 visible ASCII characters, unique per create, such as a UUID (docs/api.md)."),
)
CREATE_EXAMPLE = OpenApiExample(
    "A draft", request_only=True,
    value={
        "requester_name": "Dana Reyes", "requester_email": "d.reyes@pd.example.gov", "case_number": "24-001234",
        "data_types": ["video_clips", "subscriber"], "window_start": "2026-04-20T09:00:00",
        "window_end": "2026-04-20T18:00:00", "window_zone": "America/New_York",
        "serials": [{"raw": "G8T1-9412-3135-0JD5"}],
    },
)
ID_PARAMETER = OpenApiParameter("id", type=uuid.UUID, location=OpenApiParameter.PATH,
                                description=_("The request's id (a UUID)."))


@extend_schema_view(
    list=extend_schema(summary=_("List the agency's requests, most urgent first"),
                       parameters=[s.RequestFilterSerializer]),
    retrieve=extend_schema(summary=_("One request"), parameters=[ID_PARAMETER]),
    create=extend_schema(
        summary=_("Create a draft (complete or not)"),
        description=_("Send an Idempotency-Key to make retries safe: a retry with the same key and body "
                      "returns the request the first call created (with the header Idempotent-Replayed: "
                      "true) instead of creating a second one."),
        parameters=[IDEMPOTENCY_KEY],
        examples=[CREATE_EXAMPLE],
    ),
    update=extend_schema(summary=_("Replace a draft's fields"), parameters=[ID_PARAMETER]),
    partial_update=extend_schema(summary=_("Change some of a draft's fields"), parameters=[ID_PARAMETER]),
)
class RequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.RequestSerializer
    permission_classes = [permissions.IsAuthenticated, HasAgency, CanChangeRequest]
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    # As on the web, anyone in the agency may print a request's documents; who may approve is
    # the service's rule: a supervisor who did not write the draft (four eyes).
    any_member_actions = frozenset({"documents", "approve"})

    def get_queryset(self):
        return (
            selectors.requests_for_user(self.request.user)
            .select_related("agency", "created_by", "assigned_to")
            # What the approval state needs, for a whole page in three queries (services.approval_over).
            .prefetch_related("serials", "approvals__approved_by", Prefetch(
                "events", queryset=RequestEvent.objects.filter(action__in=services.EDIT_ACTIONS).only(
                    "request_id", "at", "actor_id"), to_attr="edit_events"))
            .order_by("urgency_rank", "next_deadline_on", "-created_at", "-pk")
        )

    def get_object(self):
        try:
            uuid.UUID(self.kwargs[self.lookup_url_kwarg])
        except ValueError:
            raise exceptions.NotFound()
        return super().get_object()

    def _page(self, queryset):
        page = self.paginate_queryset(queryset)
        rows = self.get_serializer(page, many=True, context={
            **self.get_serializer_context(), "listing": True, "policies": selectors.policies_for(page)})
        return self.get_paginated_response(rows.data)

    def _represent(self, obj, status_code=status.HTTP_200_OK):
        fresh = selectors.keep_policies(obj, self.get_queryset().get(pk=obj.pk))
        return Response(self.get_serializer(fresh).data, status=status_code)

    def list(self, request, *args, **kwargs):
        filters = s.RequestFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self._page(filters.filter(self.get_queryset()))

    @extend_schema(summary=_("Search the agency's requests, also by serial"), request=s.RequestSearchSerializer,
                   responses=s.RequestSerializer(many=True))
    @action(detail=False, methods=["post"])
    def search(self, request):
        filters = s.RequestSearchSerializer(data=request.data)
        filters.is_valid(raise_exception=True)
        # What was searched for, never the terms (docs/security.md "What is audited").
        audit_record(action="search", actor=request.user, request=request, object_type="api:request-search",
                     message=search_summary({k: v for k, v in filters.validated_data.items()
                                             if isinstance(v, (str, int))}))
        return self._page(filters.filter(self.get_queryset()))

    def create(self, request, *args, **kwargs):
        if not roles.can_create_request(request.user):
            raise exceptions.PermissionDenied()
        key = idempotency.read_key(request)

        def create_draft():
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return serializer.save_draft(agency=request.user.agency, actor=request.user)

        created, replayed = idempotency.create_once(
            user=request.user, key=key, fingerprint=idempotency.fingerprint(request.path, request.data),
            create=create_draft,
        )
        response = self._represent(created, status.HTTP_201_CREATED)
        response["Location"] = reverse("api:request-detail", kwargs={"id": created.public_id})
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    def update(self, request, *args, partial=False, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return self._represent(serializer.save_draft(agency=request.user.agency, actor=request.user))

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def _change(self, request, input_class):
        target = self.get_object()
        serializer = input_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._represent(serializer.perform(target, request.user))

    @extend_schema(summary=_("Approve a draft for sending (supervisors, where the agency requires it)"),
                   request=None, parameters=[ID_PARAMETER])
    @action(detail=True, methods=["post"])
    def approve(self, request, id=None):
        return self._represent(services.request_approve(preservation_request=self.get_object(), actor=request.user))

    @extend_schema(summary=_("Record that the request was sent to Blink"), request=s.SendSerializer,
                   parameters=[ID_PARAMETER])
    @action(detail=True, methods=["post"])
    def send(self, request, id=None):
        return self._change(request, s.SendSerializer)

    @extend_schema(summary=_("Record Blink's receipt (starts the preservation clock)"), request=s.RecordReceiptSerializer,
                   parameters=[ID_PARAMETER])
    @action(detail=True, methods=["post"], url_path="record-receipt")
    def record_receipt(self, request, id=None):
        return self._change(request, s.RecordReceiptSerializer)

    @extend_schema(summary=_("Record that the extension request was sent"), request=s.SendExtensionSerializer,
                   parameters=[ID_PARAMETER])
    @action(detail=True, methods=["post"], url_path="send-extension")
    def send_extension(self, request, id=None):
        return self._change(request, s.SendExtensionSerializer)

    @extend_schema(summary=_("Record Blink's receipt of the extension"),
                   request=s.RecordExtensionReceiptSerializer, parameters=[ID_PARAMETER])
    @action(detail=True, methods=["post"], url_path="record-extension-receipt")
    def record_extension_receipt(self, request, id=None):
        return self._change(request, s.RecordExtensionReceiptSerializer)

    @extend_schema(summary=_("Record that legal process was served"), request=s.RecordLegalProcessSerializer,
                   parameters=[ID_PARAMETER])
    @action(detail=True, methods=["post"], url_path="record-legal-process")
    def record_legal_process(self, request, id=None):
        return self._change(request, s.RecordLegalProcessSerializer)

    @extend_schema(summary=_("EPOC-PR: record a production order (confirmed, received)"),
                   request=s.RecordProductionOrderSerializer, parameters=[ID_PARAMETER])
    @action(detail=True, methods=["post"], url_path="record-production-order")
    def record_production_order(self, request, id=None):
        return self._change(request, s.RecordProductionOrderSerializer)

    @extend_schema(summary=_("Close a finished request with its outcome"), request=s.CloseSerializer,
                   parameters=[ID_PARAMETER])
    @action(detail=True, methods=["post"])
    def close(self, request, id=None):
        return self._change(request, s.CloseSerializer)

    @extend_schema(summary=_("Withdraw an open request"), request=s.WithdrawSerializer, parameters=[ID_PARAMETER])
    @action(detail=True, methods=["post"])
    def withdraw(self, request, id=None):
        return self._change(request, s.WithdrawSerializer)

    @extend_schema(summary=_("Correct recorded facts (sent, receipt, extension, legal process, outcome)"),
                   request=s.CorrectionSerializer, parameters=[ID_PARAMETER])
    @action(detail=True, methods=["post"])
    def correct(self, request, id=None):
        return self._change(request, s.CorrectionSerializer)

    @extend_schema(summary=_("The request's reminders"), responses=s.ReminderSerializer(many=True),
                   parameters=[ID_PARAMETER])
    @action(detail=True, methods=["get"], pagination_class=None)
    def reminders(self, request, id=None):
        rows = Reminder.objects.filter(request=self.get_object()).order_by("due_at", "pk")
        return Response(s.ReminderSerializer(rows, many=True).data)


    @extend_schema(methods=["GET"], summary=_("The request's documents, newest first"),
                   responses=s.DocumentSerializer(many=True), parameters=[ID_PARAMETER])
    @extend_schema(methods=["POST"], summary=_("Generate a document (rendered in the background)"),
                   request=s.DocumentOrderSerializer, responses={202: s.DocumentSerializer},
                   parameters=[ID_PARAMETER])
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def documents(self, request, id=None):
        target = self.get_object()
        if request.method == "GET":
            rows = GeneratedDocument.objects.for_agency(request.user.agency_id).without_content().filter(
                request=target).select_related("request")
            return Response(s.DocumentSerializer(rows, many=True).data)
        order = s.DocumentOrderSerializer(data=request.data)
        order.is_valid(raise_exception=True)
        try:
            document = documents.document_request(preservation_request=target, kind=order.validated_data["kind"],
                                                  actor=request.user)
        except DjangoValidationError as error:
            if getattr(error, "code", None) != "too_many_renders":
                raise
            # Too many renders pending (docs/security.md "Bounded work"): try again later.
            raise exceptions.Throttled(detail=error.messages[0], code="too_many_renders") from error
        return Response(s.DocumentSerializer(document).data, status=status.HTTP_202_ACCEPTED)


DOCUMENT_ID = OpenApiParameter(
    "id", type={"oneOf": [{"type": "string", "format": "uuid"}, {"type": "integer"}]}, location=OpenApiParameter.PATH,
    description=_("The document's public_id (a UUID); its integer id, deprecated, still works."))
LARGEST_ID = 2**63 - 1
# When the integer id became deprecated: public_id came on 2026-12-03 (docs/api.md "Deprecated
# fields"). No sunset date is set: v1 keeps the integer id.
INTEGER_ID_DEPRECATED_AT = datetime(2026, 12, 3, tzinfo=timezone.utc)


def _is_integer_id(value):
    """The document's address holds its deprecated integer id, not its public_id."""
    return str(value).isdigit()


DEPRECATION = OpenApiParameter(
    "Deprecation", type=str, location=OpenApiParameter.HEADER, response=True,
    description=_("Only when the address holds the integer id: “@” and the moment it was deprecated, in "
                  "seconds since 1970 UTC (RFC 9745). The Link header names the page that describes it."))


@extend_schema(parameters=[DOCUMENT_ID, DEPRECATION])
class DocumentViewSet(viewsets.GenericViewSet):
    """Documents by their own id: poll one until it is done, then download its PDF."""

    permission_classes = [permissions.IsAuthenticated, HasAgency]
    serializer_class = s.DocumentSerializer
    pagination_class = None
    lookup_url_kwarg = "id"
    lookup_value_regex = "[0-9]+|[0-9a-fA-F-]{32,36}"

    def perform_content_negotiation(self, request, force=False):
        # A client asking for application/pdf still gets errors, in JSON, rather than a 406.
        return super().perform_content_negotiation(request, force=True)

    def get_queryset(self):
        return GeneratedDocument.objects.for_agency(self.request.user.agency_id).select_related("request")

    def finalize_response(self, request, response, *args, **kwargs):
        """An address with the integer id says in every answer that it is deprecated (RFC 9745),
        and where its replacement is described."""
        response = super().finalize_response(request, response, *args, **kwargs)
        if _is_integer_id(kwargs.get(self.lookup_url_kwarg, "")):
            response["Deprecation"] = "@%d" % INTEGER_ID_DEPRECATED_AT.timestamp()
            response["Link"] = '<%s>; rel="deprecation"; type="text/html"' % request.build_absolute_uri(
                reverse("api:docs"))
        return response

    @extend_schema(summary=_("One document (poll it while it is queued or rendering)"))
    def retrieve(self, request, id=None):
        return Response(s.DocumentSerializer(self._get(id, with_content=False)).data)

    @extend_schema(
        summary=_("The document's PDF"),
        description=_("The PDF's bytes, as application/pdf; as application/octet-stream when the Accept "
                      "header asks for that and not for application/pdf. Compare their SHA-256 with the "
                      "document's sha256."),
        responses={(200, "application/pdf"): OpenApiTypes.BINARY,
                   (200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"])
    def download(self, request, id=None):
        document = self._get(id, with_content=True)
        if document.state != DocumentState.DONE:
            raise exceptions.NotFound(_("The document is not ready: its state is “%(state)s”.")
                                      % {"state": document.get_state_display()}, code="not_ready")
        documents.document_record_download(document=document, actor=request.user, http_request=request._request)
        response = HttpResponse(bytes(document.content), content_type=_download_type(request))
        response["Content-Disposition"] = 'attachment; filename="%s"' % document.filename
        return response

    def _get(self, id, *, with_content):
        queryset = self.get_queryset() if with_content else self.get_queryset().without_content()
        if _is_integer_id(id):  # docs/api.md "Deprecated fields"
            document = queryset.filter(pk=int(id)).first() if int(id) <= LARGEST_ID else None
        else:
            try:
                document = queryset.filter(public_id=uuid.UUID(id)).first()
            except ValueError:
                document = None
        if document is None:
            raise exceptions.NotFound()
        return document


def _download_type(request):
    accept = request.META.get("HTTP_ACCEPT", "")
    if OCTET_STREAM in accept and "application/pdf" not in accept:
        return OCTET_STREAM
    return "application/pdf"


OCTET_STREAM = "application/octet-stream"


class SerialValidateView(APIView):
    @extend_schema(summary=_("Check a batch of serials"), request=s.SerialBatchSerializer,
                   responses=s.SerialBatchResultSerializer)
    def post(self, request):
        batch = s.SerialBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        return Response(s.SerialBatchResultSerializer.check(batch.validated_data["serials"]))


class IdentifierValidateView(APIView):
    @extend_schema(summary=_("Check a batch of identifiers of one type (MAC, email, phone, text, serial)"),
                   request=s.IdentifierBatchSerializer, responses=s.IdentifierReadingSerializer(many=True))
    def post(self, request):
        batch = s.IdentifierBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        kind = batch.validated_data["kind"]
        return Response([identifiers.check_identifier(kind, raw).as_dict() for raw in batch.validated_data["values"]])


class DeadlineCalculatorView(APIView):
    @extend_schema(summary=_("What-if deadline calculator (as manage.py deadlines)"),
                   request=s.DeadlineQuerySerializer, responses=s.DeadlineReportSerializer)
    def post(self, request):
        query = s.DeadlineQuerySerializer(data=request.data)
        query.is_valid(raise_exception=True)
        return Response(query.report())


class WhoAmIView(APIView):
    @extend_schema(summary=_("The token's user, agency and expiry"), responses=s.WhoAmISerializer)
    def get(self, request):
        user, token = request.user, request.auth
        return Response({
            "username": user.get_username(), "agency": str(user.agency) if user.agency_id else None,
            "role": user.role, "token_name": token.name, "token_expires_at": token.expires_at,
        })


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@permission_classes([permissions.AllowAny])
def not_found(request, rest=""):
    """Any other URL under /api/v1/: a 404 in the API's error format, not an HTML page."""
    raise exceptions.NotFound()
