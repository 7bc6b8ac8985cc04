"""Documents HTTP routes (R5): attachments per case (upload with type and size limits), the list of a
case's documents, and downloads checked against their SHA-256 (audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import Response

from arrears.core.errors import ValidationFailed
from arrears.documents import service
from arrears.documents.schemas import DocumentOut, document_out
from arrears.documents.storage import store_for
from arrears.security.principal import Principal
from arrears.web.deps import Db, app_ctx, requires

router = APIRouter(tags=["documents"])

MAX_ID = 2**62
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "/cases/{case_id}/attachments",
    response_model=DocumentOut,
    status_code=201,
    summary="Upload an attachment to a case (PDF, PNG, JPEG, text, WAV, MP3; size-limited)",
)
async def upload_route(
    request: Request,
    case_id: Id,
    file: Annotated[UploadFile, File(description="the file")],
    session: Db,
    principal: Annotated[Principal, Depends(requires("documents.upload"))],
    description: Annotated[str | None, Form(max_length=2000)] = None,
) -> DocumentOut:
    from starlette.concurrency import run_in_threadpool

    ctx = app_ctx(request)
    store = store_for(ctx)
    data = await file.read(store.max_bytes + 1)
    if len(data) > store.max_bytes:
        raise ValidationFailed(
            f"file: over the limit of {store.max_bytes} bytes",
            details=[{"field": "body.file", "reason": f"larger than {store.max_bytes} bytes"}],
        )

    def _save() -> DocumentOut:
        doc = service.upload_attachment(
            session,
            principal,
            store,
            case_id,
            file_name=file.filename or "",
            content_type=file.content_type,
            data=data,
            at=ctx.clock(),
            description=description,
        )
        session.commit()
        return document_out(doc)

    return await run_in_threadpool(_save)


@router.get("/cases/{case_id}/documents", response_model=list[DocumentOut], summary="Documents of a case")
def list_route(
    case_id: Id, session: Db, principal: Annotated[Principal, Depends(requires("documents.read"))]
) -> list[DocumentOut]:
    return [document_out(d) for d in service.list_documents(session, principal, case_id)]


@router.get(
    "/documents/{document_id}",
    summary="Download a document (checked against its SHA-256; audited)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_route(
    request: Request,
    document_id: Id,
    session: Db,
    principal: Annotated[Principal, Depends(requires("documents.read"))],
) -> Response:
    ctx = app_ctx(request)
    got = service.read_document(session, principal, store_for(ctx), document_id, at=ctx.clock())
    session.commit()
    doc = got.document
    ascii_name = doc.file_name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    from urllib.parse import quote

    return Response(
        got.data,
        media_type=doc.content_type,
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(doc.file_name)}",
            "X-Content-SHA256": doc.sha256,
        },
    )
