"""An integrator's everyday flow, written against a client generated from /api/v1/schema/ with
openapi-python-client (docs/api.md). tests/test_api_contract.py generates the client as the
package ``preserve_api_client``, type-checks this file with ``mypy --strict`` and runs it
against a live server; it also runs on its own:

    openapi-python-client generate --url https://…/api/v1/schema/ --output-path preserve_api_client --meta none
    python everyday_flow.py https://preserve.example pv_…
"""
from __future__ import annotations

import datetime as dt
import hashlib
import sys
import uuid
from dataclasses import dataclass, field
from typing import TypeVar

from preserve_api_client import AuthenticatedClient
from preserve_api_client.api.deadlines import deadlines_create
from preserve_api_client.api.documents import documents_download_retrieve, documents_retrieve
from preserve_api_client.api.me import me_retrieve
from preserve_api_client.api.requests import (
    requests_create,
    requests_documents_create,
    requests_list,
    requests_record_extension_receipt_create,
    requests_record_receipt_create,
    requests_retrieve,
    requests_send_create,
    requests_send_extension_create,
)
from preserve_api_client.api.serials import serials_validate_create
from preserve_api_client.models import (
    DataTypesEnum,
    DeadlineQueryRequest,
    DeadlineReport,
    DeviceSerialRequest,
    Document,
    DocumentOrderRequest,
    DocumentStateEnum,
    Error,
    KindEnum,
    PaginatedRequestList,
    RecordExtensionReceiptRequest,
    RecordReceiptRequest,
    Request,
    RequestRequest,
    RequestStateEnum,
    SendExtensionRequest,
    SendRequest,
    SerialBatchRequest,
    SerialBatchResult,
    WhoAmI,
)
from preserve_api_client.types import File

T = TypeVar("T")
SERIAL = "G8T1-9412-3135-0JD5"
MAX_POLLS = 50


class FlowError(Exception):
    pass


def expect(value: T | Error | None, kind: type[T]) -> T:
    """The parsed body when it is the success type; the API's error otherwise."""
    if isinstance(value, Error):
        raise FlowError("%s: %s %s" % (value.code, value.detail, value.fields.to_dict()))
    if not isinstance(value, kind):
        raise FlowError("expected %s, got %r" % (kind.__name__, value))
    return value


@dataclass
class FlowResult:
    username: str
    request_id: uuid.UUID
    replayed_id: uuid.UUID
    states: list[str] = field(default_factory=list)
    window_start_local: dt.datetime | None = None
    listed: int = 0
    next_page: str | None = None
    all_serials_valid: bool = False
    first_loss_at: dt.datetime | None = None
    invalid_codes: dict[str, list[str]] = field(default_factory=dict)
    missing_code: str = ""
    document_sha256: str = ""
    downloaded_sha256: str = ""
    downloaded_bytes: int = 0


def run_flow(client: AuthenticatedClient, *, today: dt.date) -> FlowResult:
    me = expect(me_retrieve.sync(client=client), WhoAmI)

    checked = expect(serials_validate_create.sync(client=client, body=SerialBatchRequest(serials=[SERIAL])),
                     SerialBatchResult)

    start = dt.datetime.combine(today - dt.timedelta(days=10), dt.time(9, 0))
    report = deadlines_create.sync(client=client, body=DeadlineQueryRequest(
        start=start, end=start + dt.timedelta(hours=8), tz="America/New_York", country="US",
    ))
    first_loss_at = expect(report, DeadlineReport).first_loss_at

    draft = RequestRequest(
        requester_name="Dana Reyes", requester_email="d.reyes@pd.example.gov", requester_phone="+12025550143",
        case_number="24-001234", data_types=[DataTypesEnum.VIDEO_CLIPS, DataTypesEnum.SUBSCRIBER],
        window_start=start, window_end=start + dt.timedelta(hours=8), window_zone="America/New_York",
        account_country="US", serials=[DeviceSerialRequest(raw=SERIAL)],
    )
    key = str(uuid.uuid4())
    created = expect(requests_create.sync(client=client, body=draft, idempotency_key=key), Request)
    replayed = expect(requests_create.sync(client=client, body=draft, idempotency_key=key), Request)

    invalid = requests_create.sync(client=client, body=RequestRequest(
        window_start=start, window_end=start - dt.timedelta(hours=1), window_zone="UTC"))
    invalid_codes = {}
    if isinstance(invalid, Error):
        invalid_codes = {name: [problem.code for problem in problems]
                         for name, problems in invalid.fields.additional_properties.items()}
    missing = requests_retrieve.sync(uuid.uuid4(), client=client)
    missing_code = missing.code if isinstance(missing, Error) else ""

    listing = expect(requests_list.sync(client=client, page_size=1), PaginatedRequestList)

    states = [created.state.value]
    sent = expect(requests_send_create.sync(created.id, client=client, body=SendRequest()), Request)
    states.append(sent.state.value)
    received = expect(requests_record_receipt_create.sync(
        created.id, client=client, body=RecordReceiptRequest(received_on=today, blink_reference="BL-1")), Request)
    states.append(received.state.value)
    extension = expect(requests_send_extension_create.sync(
        created.id, client=client, body=SendExtensionRequest()), Request)
    states.append(extension.state.value)
    extended = expect(requests_record_extension_receipt_create.sync(
        created.id, client=client, body=RecordExtensionReceiptRequest(received_on=today)), Request)
    states.append(extended.state.value)
    if extended.state is not RequestStateEnum.EXTENDED:
        raise FlowError("not extended: %s" % extended.state)

    document = expect(requests_documents_create.sync(
        created.id, client=client, body=DocumentOrderRequest(kind=KindEnum.REQUEST)), Document)
    for _poll in range(MAX_POLLS):
        if document.state in (DocumentStateEnum.DONE, DocumentStateEnum.FAILED):
            break
        document = expect(documents_retrieve.sync(document.id, client=client), Document)
    if document.state is not DocumentStateEnum.DONE:
        raise FlowError("document not done: %s %s" % (document.state, document.error))
    pdf = expect(documents_download_retrieve.sync(document.id, client=client), File)
    content = pdf.payload.read()

    return FlowResult(
        username=me.username, request_id=created.id, replayed_id=replayed.id, states=states,
        window_start_local=created.window_start_local, listed=listing.count,
        next_page=listing.next_, all_serials_valid=checked.all_valid, first_loss_at=first_loss_at,
        invalid_codes=invalid_codes, missing_code=missing_code, document_sha256=document.sha256,
        downloaded_sha256=hashlib.sha256(content).hexdigest(), downloaded_bytes=len(content),
    )


def main(argv: list[str]) -> int:
    base_url, token = argv[1], argv[2]
    with AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True) as client:
        result = run_flow(client, today=dt.date.today())
    print(result)
    return 0 if result.document_sha256 == result.downloaded_sha256 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
