"""Document use cases: attachments per case, generated letters stored with their SHA-256, letterheads.

Every stored file is a `Document` row of a case plus the bytes in the `DocumentStore`; generated
letters and uploads are audited, and so is every download (personal data leaves the system, CN-D1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.core.errors import Conflict, NotFound, ValidationFailed
from arrears.documents import letters
from arrears.documents.models import Document, Letterhead
from arrears.documents.pdf import Letter, render
from arrears.documents.storage import DocumentStore, check_upload, track_in
from arrears.portfolio.models import Account, Case, Creditor, Debtor
from arrears.security import audit
from arrears.security.permissions import authorize, not_found
from arrears.security.principal import Principal

Actor = Principal | str

SUFFIX = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "text/plain": ".txt",
    "audio/wav": ".wav",
    "audio/mpeg": ".mp3",
    "application/zip": ".zip",
}


def actor_name(actor: Actor) -> str:
    return actor.username if isinstance(actor, Principal) else str(actor)


# --- cases and scope ------------------------------------------------------------------------------


def visible_case(session: Session, principal: Principal, action: str, case_id: int) -> Case:
    """The case if it exists and is in the principal's scope for `action`; 404 otherwise (same message)."""
    authorize(principal, action)
    case = session.get(Case, case_id)
    if case is None:
        raise not_found("case", case_id)
    authorize(principal, action, case)
    return case


def case_account(session: Session, case: Case) -> Account:
    account = session.get(Account, case.account_id)
    if account is None:  # a foreign key makes this impossible
        raise NotFound(f"account of case {case.id} not found")
    return account


def latest_case(session: Session, account_id: int) -> Case | None:
    """The open case of an account, else its most recent one."""
    return session.scalar(
        select(Case)
        .where(Case.account_id == account_id)
        .order_by(Case.status != "open", Case.id.desc())
        .limit(1)
    )


# --- letterheads ----------------------------------------------------------------------------------

PHONE = re.compile(r"^[0-9+()\- ]{5,40}$")


def letterhead_for(session: Session, creditor_id: int) -> letters.Letterhead:
    """The creditor's contact details for letters; without them no CN-L1 letter can be issued."""
    row = session.scalar(select(Letterhead).where(Letterhead.creditor_id == creditor_id))
    if row is None:
        code = session.scalar(select(Creditor.code).where(Creditor.id == creditor_id))
        raise Conflict(
            f"creditor {code} has no contact details for letters (CN-L1); set them with "
            f"`arrears documents letterhead {code} --phone …`"
        )
    return letters.Letterhead(
        phone=row.phone,
        email=row.email,
        address_zh=row.address_zh,
        address_en=row.address_en,
        website=row.website,
        repayment_zh=row.repayment_zh,
        repayment_en=row.repayment_en,
    )


def set_letterhead(
    session: Session,
    actor: Actor,
    creditor_code: str,
    *,
    phone: str,
    at: datetime,
    email: str | None = None,
    address_zh: str | None = None,
    address_en: str | None = None,
    website: str | None = None,
    repayment_zh: str | None = None,
    repayment_en: str | None = None,
) -> Letterhead:
    if isinstance(actor, Principal):
        authorize(actor, "letterheads.set")
    creditor = session.scalar(select(Creditor).where(Creditor.code == creditor_code))
    if creditor is None:
        raise NotFound(f"creditor {creditor_code} not found")
    if not PHONE.match(phone.strip()):
        raise ValidationFailed(f"phone {phone!r}: 5–40 digits, spaces, +, - or parentheses")
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email.strip()):
        raise ValidationFailed(f"email {email!r}: not an email address")
    row = session.scalar(select(Letterhead).where(Letterhead.creditor_id == creditor.id))
    before = None
    if row is None:
        row = Letterhead(creditor_id=creditor.id, phone=phone.strip(), updated_at=at)
        session.add(row)
    else:
        before = {"phone": row.phone, "email": row.email}
    row.phone = phone.strip()
    row.email = email.strip() if email else None
    row.address_zh, row.address_en, row.website = address_zh, address_en, website
    row.repayment_zh, row.repayment_en = repayment_zh, repayment_en
    row.updated_at, row.updated_by = at, actor_name(actor)
    session.flush()
    audit.record(
        session, actor, "letterhead.set", "creditor", creditor.id, before=before,
        after={"phone": row.phone, "email": row.email}, at=at,
    )  # fmt: skip
    return row


def account_facts(session: Session, account: Account, as_of: date) -> letters.AccountFacts:
    """What a letter says about an account: the creditor, the debtor's name, contract and balances."""
    creditor = session.get(Creditor, account.creditor_id)
    debtor = session.get(Debtor, account.debtor_id)
    if creditor is None or debtor is None:  # foreign keys make this impossible
        raise NotFound(f"account {account.account_ref} is incomplete")
    return letters.AccountFacts(
        creditor_name=creditor.name,
        letterhead=letterhead_for(session, creditor.id),
        account_ref=account.account_ref,
        debtor_name=debtor.name,
        product=account.product,
        currency=account.currency,
        contract_date=account.contract_date,
        days_past_due=account.days_past_due,
        balances={
            "principal": account.principal,
            "interest": account.interest,
            "penalty": account.penalty,
            "fees": account.fees,
            "credit": account.credit,
        },
        as_of=as_of,
    )


def debtor_language(session: Session, account: Account) -> str:
    lang = session.scalar(select(Debtor.language).where(Debtor.id == account.debtor_id))
    return letters.language_of(lang)


# --- storing --------------------------------------------------------------------------------------


def store_document(
    session: Session,
    store: DocumentStore,
    actor: Actor,
    *,
    case: Case,
    kind: str,
    data: bytes,
    file_name: str,
    content_type: str,
    at: datetime,
    language: str | None = None,
    description: str | None = None,
    source: str | None = None,
    source_id: int | None = None,
) -> Document:
    """Write the bytes under the case and record them (audited); removed again if the transaction fails."""
    stored = store.put(case.id, data, SUFFIX.get(content_type, ".bin"))
    track_in(session, store, stored.key)
    doc = Document(
        case_id=case.id,
        account_id=case.account_id,
        kind=kind,
        language=language,
        file_name=file_name,
        content_type=content_type,
        size=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
        description=description,
        source=source,
        source_id=source_id,
        created_at=at,
        created_by=actor_name(actor),
    )
    session.add(doc)
    session.flush()
    audit.record(
        session,
        actor,
        "document.create",
        "document",
        doc.id,
        after={
            "case_id": case.id,
            "kind": kind,
            "sha256": stored.sha256,
            "size": stored.size,
            "source": source,
        },
        at=at,
    )
    return doc


def store_letter(
    session: Session,
    store: DocumentStore,
    actor: Actor,
    *,
    case: Case,
    kind: str,
    letter: Letter,
    at: datetime,
    source: str | None = None,
    source_id: int | None = None,
) -> Document:
    """Render a letter to PDF and store it on the case."""
    data = render(letter)
    name = f"{kind}-{letter.reference}-{letter.issued_on.isoformat()}-{letter.language}.pdf"
    return store_document(
        session, store, actor, case=case, kind=kind, data=data, file_name=name,
        content_type="application/pdf", at=at, language=letter.language, description=letter.title,
        source=source, source_id=source_id,
    )  # fmt: skip


def upload_attachment(
    session: Session,
    principal: Principal,
    store: DocumentStore,
    case_id: int,
    *,
    file_name: str,
    content_type: str | None,
    data: bytes,
    at: datetime,
    description: str | None = None,
) -> Document:
    """An attachment on a case (contract, evidence, call recording …; R5), type and size checked."""
    case = visible_case(session, principal, "documents.upload", case_id)
    accepted = check_upload(file_name, content_type, data, store.max_bytes)
    if description is not None and len(description) > 2000:
        raise ValidationFailed("description: at most 2000 characters")
    return store_document(
        session, store, principal, case=case, kind="attachment", data=data, file_name=file_name.strip(),
        content_type=accepted, at=at, description=description,
    )  # fmt: skip


def list_documents(session: Session, principal: Principal, case_id: int) -> list[Document]:
    visible_case(session, principal, "documents.read", case_id)
    return list(session.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.id)))


@dataclass(frozen=True)
class Download:
    document: Document
    data: bytes


def read_document(
    session: Session, principal: Principal, store: DocumentStore, document_id: int, *, at: datetime
) -> Download:
    """The bytes of a document in the principal's scope, hash-checked; the download is audited."""
    authorize(principal, "documents.read")
    doc = session.get(Document, document_id)
    if doc is None:
        raise not_found("document", document_id)
    case = session.get(Case, doc.case_id)
    try:
        authorize(principal, "documents.read", case)
    except NotFound:
        raise not_found("document", document_id) from None
    data = store.read(doc.storage_key, doc.sha256)
    audit.record(session, principal, "document.download", "document", doc.id, after={"kind": doc.kind}, at=at)
    return Download(doc, data)


def documents_of(session: Session, case_id: int, kinds: tuple[str, ...] | None = None) -> list[Document]:
    q = select(Document).where(Document.case_id == case_id)
    if kinds:
        q = q.where(Document.kind.in_(kinds))
    return list(session.scalars(q.order_by(Document.id)))
