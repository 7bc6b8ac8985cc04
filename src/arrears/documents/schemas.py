"""Output of the documents API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from arrears.documents.models import Document


class DocumentOut(BaseModel):
    id: int
    case_id: int
    kind: str
    language: str | None
    file_name: str
    content_type: str
    size: int
    sha256: str
    description: str | None
    source: str | None
    source_id: int | None
    created_at: datetime
    created_by: str | None
    download: str


def document_out(doc: Document) -> DocumentOut:
    return DocumentOut(
        id=doc.id,
        case_id=doc.case_id,
        kind=doc.kind,
        language=doc.language,
        file_name=doc.file_name,
        content_type=doc.content_type,
        size=doc.size,
        sha256=doc.sha256,
        description=doc.description,
        source=doc.source,
        source_id=doc.source_id,
        created_at=doc.created_at,
        created_by=doc.created_by,
        download=f"/api/v1/documents/{doc.id}",
    )
