"""The database tables: dsar's only source of truth.

Redis holds jobs, never state that these rows cannot rebuild. Datetimes are stored in UTC and
come back timezone-aware; legal deadlines are calendar dates.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator

from dsar import search_text
from dsar.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store naive UTC, hand back aware UTC: SQLite keeps no offsets, PostgreSQL does."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class RequestKind(enum.StrEnum):
    ACCESS = "access"
    PORTABILITY = "portability"
    DELETION = "deletion"
    CORRECTION = "correction"
    OPT_OUT = "opt_out"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    LIMIT_SENSITIVE = "limit_sensitive"


class RequestStatus(enum.StrEnum):
    RECEIVED = "received"
    AWAITING_VERIFICATION = "awaiting_verification"
    AWAITING_APPROVAL = "awaiting_approval"
    # An appeal, waiting for the written decision of an officer who did not deny.
    AWAITING_DECISION = "awaiting_decision"
    IN_PROGRESS = "in_progress"
    ACTION_REQUIRED = "action_required"
    COMPILING = "compiling"
    READY_FOR_REVIEW = "ready_for_review"
    COMPLETED = "completed"
    DENIED = "denied"
    CANCELLED = "cancelled"
    DUPLICATE = "duplicate"


class TaskStatus(enum.StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    FAILED = "failed"
    SKIPPED = "skipped"
    ACTION_REQUIRED = "action_required"


FINAL_TASK_STATUSES = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.SKIPPED})


class TaskAction(enum.StrEnum):
    LOCATE = "locate"
    ERASE = "erase"
    OPT_OUT = "opt_out"
    CORRECT = "correct"
    RESTRICT = "restrict"
    OBJECT = "object"
    LIMIT_SENSITIVE = "limit_sensitive"
    # Remove the flag a restriction or an objection set (GDPR Art. 18(3), Art. 21).
    LIFT = "lift"


class SystemKind(enum.StrEnum):
    SQL = "sql"
    HTTP = "http"
    CSV = "csv"
    MANUAL = "manual"


class Role(enum.StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    AUDITOR = "auditor"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # How the person appears in histories, evidence and letters ("Olivia Officer").
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role))
    active: Mapped[bool] = mapped_column(default=True)
    # Rotated at login and logout so that a copied session cookie dies with the session.
    session_token: Mapped[str] = mapped_column(String(64))
    # Made by the demo world with a published password: refused once a real admin exists.
    demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How they hear of what needs them: "now" (an email each), "digest" (one a day), "list"
    # (only the list in the workspace).
    notify: Mapped[str] = mapped_column(String(16), default="now")
    # Two-factor sign-in (dsar.services.two_factor): the TOTP secret, base32, kept as given
    # (dsar has no encryption of stored secrets); set when they start setting it up, on from
    # `totp_on_at`. The last time step accepted: a code works once.
    totp_secret: Mapped[str] = mapped_column(String(64), default="")
    totp_on_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column()

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def invited(self) -> bool:
        """Invited by an admin (dsar.services.invitations) and has not chosen a password yet:
        cannot sign in."""
        return not self.password_hash

    @property
    def two_factor(self) -> bool:
        return self.totp_on_at is not None


class Agent(db.Model):
    """An authorised agent: a person or a company that files requests for others.

    One row per agent email address; its requests link here. An officer may revoke the
    agent: its requests the person has not confirmed are closed, and it can file no more.
    """

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str] = mapped_column(Text, default="")

    requests: Mapped[list[Request]] = relationship(order_by="Request.id", viewonly=True)


class ApiKey(db.Model):
    """An integrator's key: only the SHA-256 of its secret is kept, and what it may do is its
    `scopes` (see dsar.services.api_keys.SCOPES); rotating keeps the id, so the key still
    reads the requests it created."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written at most once a minute per key (see find_api_key): not a write per call.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DataSystem(db.Model):
    """A registered place where personal data lives; `config` never holds secrets, only names
    of environment variables that do."""

    __tablename__ = "data_systems"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SystemKind] = mapped_column(_enum(SystemKind))
    enabled: Mapped[bool] = mapped_column(default=True)
    owner: Mapped[str] = mapped_column(String(200), default="")
    contact: Mapped[str] = mapped_column(String(254), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the access answer must say about this system (GDPR Art. 15(1)(a)-(h), CCPA
    # categories, values never disclosed): purposes, categories, recipients, retention, ...
    disclosure: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The words the person reads for this system's tables, fields and actions, instead of
    # column names: places, fields (with yes/no meanings), opt_out, opt_out_undo, erase.
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # At most this many of the system's tasks run at once (0: no cap).
    max_concurrency: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Request(db.Model):
    """One person's request; holds their identity until the retention job purges it."""

    __tablename__ = "requests"
    __table_args__ = (
        # The queue (dsar.staff.queue_views) walks these in (due_on, id) order, one status
        # at a time, and counts per status up to a cap. The first carries the other filter
        # columns so that those walks never leave the index; the second serves one
        # assignee's queue; the third, a planner that reads (due_on, id) in order and
        # filters (PostgreSQL, or SQLite without an IN list on status).
        Index("ix_requests_queue", "status", "due_on", "id", "assignee_id", "kind", "regime"),
        Index("ix_requests_assignee_queue", "assignee_id", "status", "due_on", "id"),
        Index("ix_requests_due_id", "due_on", "id"),
        # The same walks for the queue sorted by the date received.
        Index("ix_requests_received", "status", "received_at", "id"),
        Index("ix_requests_assignee_received", "assignee_id", "status", "received_at", "id"),
        Index("ix_requests_email", "email"),
        # The staff home's answers per month, read from the index alone (dashboard_stats).
        Index("ix_requests_answered", "status", "completed_at", "due_on"),
        # The staff search on PostgreSQL (pg_trgm); SQLite has an FTS5 table instead, made
        # with its triggers by migration 0022.
        Index(
            "ix_requests_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        # An API client's retry with the same Idempotency-Key finds the request it made.
        Index("uq_requests_idempotency", "api_key_id", "idempotency_key", unique=True),
        # One appeal per denied request; the appeal link emailed finds the denied request.
        Index("uq_requests_appeal_of_id", "appeal_of_id", unique=True),
        Index("uq_requests_appeal_hash", "appeal_hash", unique=True),
        # One lift per restriction or objection carried out.
        Index("uq_requests_lift_of_id", "lift_of_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    tracking_hash: Mapped[str] = mapped_column(String(64), unique=True)
    verification_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    verification_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[RequestKind] = mapped_column(_enum(RequestKind))
    regime: Mapped[str] = mapped_column(String(16))
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus))
    # portal | api, or recorded by staff: phone | letter | email | in_person
    channel: Mapped[str] = mapped_column(String(16))
    # Recorded by an officer: why the receipt date is earlier than the day it was recorded.
    received_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(40), default="")
    country: Mapped[str] = mapped_column(String(100), default="")
    details: Mapped[str] = mapped_column(Text, default="")
    # Reference, name, email and phone folded for the staff search (dsar.search_text), kept
    # in step by the listener below and indexed by trigrams (migration 0022).
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The language the person used (a code of dsar.i18n.LANGUAGES): emails and letters
    # about the request speak it, whoever triggers them.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # Portability (GDPR Art. 20(2)): the HTTPS address of another company the person asked us
    # to send their package to when the answer is released; "" when none. Their data: it is
    # cleared with the identity (dsar.services.retention).
    transfer_url: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    # A correction: what the person asked to change (and the values held, to find them),
    # and the officer's decision per field. Values as held are dropped once answered.
    correction: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledge_by: Mapped[date | None]
    due_on: Mapped[date]
    due_basis: Mapped[str] = mapped_column(Text, default="")
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str] = mapped_column(String(64), default="")
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    # The Idempotency-Key header of the API call that made it, and a keyed hash of that
    # call's body: a retry with the same key and body gets the same request back.
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    idempotency_digest: Mapped[str] = mapped_column(String(64), default="")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The clock: due_on above is the date in force; these say why it moved.
    first_due_on: Mapped[date | None]
    extended_due_on: Mapped[date | None]
    paused_since: Mapped[date | None]
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An appeal is a request of its own, linked to the denied request it contests (one
    # appeal per denial); the denied request holds a keyed hash of the appeal link emailed.
    appeal_of_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    appeal_hash: Mapped[str | None] = mapped_column(String(64))
    # Lifting a restriction or an objection is a request of its own, started by an officer
    # (the person told first), linked to the request that set the flags; why, as a key of
    # dsar.rules.lifts.
    lift_of_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    lift_reason: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # Filed by an authorised agent for the person (name and email above are the person's).
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    # An earlier request from the same identity and kind, flagged for the officer.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    denial_reason: Mapped[str] = mapped_column(String(32), default="")
    denial_text: Mapped[str] = mapped_column(Text, default="")
    # A Global Privacy Control signal (Sec-GPC: 1) came with the request.
    gpc: Mapped[bool] = mapped_column(default=False)
    # The person's download link stops working after this moment.
    delivery_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Retention: located data purged; later, the identity itself (the record stays).
    data_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    record_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tasks: Mapped[list[Task]] = relationship(
        back_populates="request", order_by="Task.id", cascade="all, delete-orphan"
    )
    assignee: Mapped[User | None] = relationship()
    agent: Mapped[Agent | None] = relationship()
    duplicate_of: Mapped[Request | None] = relationship(
        remote_side="Request.id", foreign_keys=[duplicate_of_id]
    )
    appeal_of: Mapped[Request | None] = relationship(
        remote_side="Request.id", foreign_keys=[appeal_of_id]
    )
    # The appeal against this request's denial, if the person appealed.
    appeal: Mapped[Request | None] = relationship(
        foreign_keys=[appeal_of_id], uselist=False, viewonly=True
    )
    lift_of: Mapped[Request | None] = relationship(
        remote_side="Request.id", foreign_keys=[lift_of_id]
    )
    # The lift of this request's restriction or objection, once an officer started it.
    lift: Mapped[Request | None] = relationship(
        foreign_keys=[lift_of_id], uselist=False, viewonly=True
    )
    events: Mapped[list[Event]] = relationship(
        back_populates="request", order_by="Event.id", cascade="all, delete-orphan"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="request", order_by="Document.id", cascade="all, delete-orphan"
    )
    messages: Mapped[list[Message]] = relationship(order_by="Message.id", viewonly=True)
    correspondence: Mapped[list[Correspondence]] = relationship(
        back_populates="request", order_by="Correspondence.id", cascade="all, delete-orphan"
    )
    redactions: Mapped[list[Redaction]] = relationship(
        order_by="Redaction.id", cascade="all, delete-orphan"
    )

    @property
    def is_appeal(self) -> bool:
        return self.appeal_of_id is not None

    @property
    def is_lift(self) -> bool:
        return self.lift_of_id is not None


@event.listens_for(Request, "before_insert")
@event.listens_for(Request, "before_update")
def _fold_for_search(mapper: Any, connection: Any, target: Request) -> None:
    """Keep the search line in step with what it is made of, whoever changes them."""
    target.search_text = search_text.line(
        target.reference, target.name, target.email, target.phone or ""
    )


class Task(db.Model):
    """The work of one request in one data system; its status is what the person sees."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("request_id", "system_id"),
        # The staff home: open requests waiting on an owner or failed, per system; each
        # system's tasks finished lately (dsar.services.dashboard, dashboard_stats).
        Index("ix_tasks_status", "status", "system_id", "finished_at", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("data_systems.id"))
    action: Mapped[TaskAction] = mapped_column(_enum(TaskAction))
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), default=TaskStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    found_count: Mapped[int] = mapped_column(default=0)
    erased_count: Mapped[int] = mapped_column(default=0)
    retained_count: Mapped[int] = mapped_column(default=0)
    # Copies of located records, or receipts of what was done; purged after delivery.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A deletion's dry run: what was found and would be erased, shown for approval.
    preview: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")  # why skipped, or the owner's note
    # The RQ job last sent for this task; the reconciler checks it still exists.
    job_id: Mapped[str] = mapped_column(String(64), default="")
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Proof of erasure: after erasing, the system is searched again; what was still there.
    proof_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remaining_count: Mapped[int | None]
    # Manual systems: the owner's one-time link (only its SHA-256), and what they did.
    token_hash: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[Request] = relationship(back_populates="tasks")
    system: Mapped[DataSystem] = relationship()
    uploads: Mapped[list[Upload]] = relationship(
        back_populates="task", order_by="Upload.id", cascade="all, delete-orphan"
    )


class Event(db.Model):
    """One step in a request's history; carries ids and states, never personal data.

    Events form a hash chain: `hash` is an HMAC-SHA256 (under the audit key, which is not in
    the database) over the canonical JSON of the event and the previous event's hash, in `seq`
    order (see dsar.services.audit).
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int | None] = mapped_column(index=True, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    status_before: Mapped[str] = mapped_column(String(32), default="")
    status_after: Mapped[str] = mapped_column(String(32), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    request: Mapped[Request | None] = relationship(back_populates="events")


class AuditHead(db.Model):
    """The chain's head, one row: updating it first serialises every writer of the chain.

    `key_id` names the audit key the chain is written with (an HMAC of a fixed label, never
    the key), so that a check run with another key says so rather than "edited".
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64), default="")
    key_id: Mapped[str] = mapped_column(String(16), default="")


class DownloadCode(db.Model):
    """A one-time code emailed to the person before they may download their answer."""

    __tablename__ = "download_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)


class Reminder(db.Model):
    """A reminder sent about a request; the unique key makes every reminder go out once,
    whatever the number of workers or restarts."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("request_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    key: Mapped[str] = mapped_column(String(32))  # "before-7", "overdue-2026-12-24", ...
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipients: Mapped[int] = mapped_column(default=0)


class DocumentDownload(db.Model):
    """Who downloaded which document, when: staff, an API key, or the person."""

    __tablename__ = "document_downloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(16))  # staff | api | person
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))

    document: Mapped[Document] = relationship()
    user: Mapped[User | None] = relationship()


class Document(db.Model):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    render_seconds: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[Request] = relationship(back_populates="documents")


class Upload(db.Model):
    """A file a system's owner sent with their report (a scan, a photo, a spreadsheet).

    Stored under DSAR_UPLOADS_DIR by a random name; the person's answer lists and attaches
    it; the retention purge deletes it with the rest of the located data.
    """

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    filename: Mapped[str] = mapped_column(String(100))  # on disk: random, never the given name
    original_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    task: Mapped[Task] = relationship(back_populates="uploads")


class Correspondence(db.Model):
    """The original of a request received by phone, letter or email (a scan of the letter,
    the email saved as PDF, a call note), attached by the officer who recorded it.

    Stored under DSAR_UPLOADS_DIR by a random name (0600); it is part of the request's
    record, kept until the identity is stripped (DSAR_RECORD_MONTHS).
    """

    __tablename__ = "correspondence"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    # "original": the letter, email or call note; "permission": an agent's signed
    # permission from the person (purged with the request's located data).
    purpose: Mapped[str] = mapped_column(String(16), default="original", server_default="original")
    filename: Mapped[str] = mapped_column(String(100))  # on disk: random, never the given name
    original_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[Request] = relationship(back_populates="correspondence")


class Redaction(db.Model):
    """An officer's decision to leave a record, or one field of it, out of the answer."""

    __tablename__ = "redactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    system_key: Mapped[str] = mapped_column(String(64))
    place: Mapped[str] = mapped_column(String(200))
    record: Mapped[int]  # 1 for the first record of the place, as the answer numbers them
    field: Mapped[str] = mapped_column(String(200), default="")  # empty: the whole record
    reason: Mapped[str] = mapped_column(String(32))  # a key of dsar.rules.redactions
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NoticeVersion(db.Model):
    """One published version of the transparency page: what the registry said about the
    enabled systems (dsar.services.transparency). A new row each time that changes; rows
    are never updated, so an earlier version reads as it was."""

    __tablename__ = "notice_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)  # 1, 2, 3… as people cite it
    sha256: Mapped[str] = mapped_column(String(64))  # of `content`, canonical JSON
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(db.Model):
    """A message on a request's thread: the person's (from their tracking page) or the
    privacy team's (from the request's page, emailed to the person). The text stays here,
    never in an event; files the person sends are `Correspondence` rows (purpose "message")
    listed in `file_ids`."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    sender: Mapped[str] = mapped_column(String(16))  # "person" or "staff"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    answers_question: Mapped[bool] = mapped_column(default=False)
    file_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentEntry(db.Model):
    """One change of a person's choice (dsar.rules.choices) in the consent ledger: from the
    preference centre, a Global Privacy Control signal, the API or a completed opt-out
    request, with the notice version in force. Append-only: the database refuses updates
    and deletes (migration 0020), and each entry's digest is in the audit chain's
    `choice_recorded` event."""

    __tablename__ = "consent_entries"
    __table_args__ = (Index("ix_consent_entries_email_choice", "email", "choice", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))  # normalised: trimmed, lower-case
    choice: Mapped[str] = mapped_column(String(32))
    opted_in: Mapped[bool]
    source: Mapped[str] = mapped_column(String(16))  # portal, gpc, api, request
    actor: Mapped[str] = mapped_column(String(120), default="")  # the key, the request
    notice_version: Mapped[int]  # NoticeVersion.number shown when the choice was made
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # where it was made
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    origin_system_id: Mapped[int | None] = mapped_column(ForeignKey("data_systems.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))  # its audit chain link

    origin_system: Mapped[DataSystem | None] = relationship()
    receipts: Mapped[list[ChoiceReceipt]] = relationship(
        back_populates="entry", order_by="ChoiceReceipt.id"
    )


class ChoiceReceipt(db.Model):
    """What one system did with a change of choice: waiting, done (with the connector's
    receipt and how many records it changed) or failed (with the error, for the team)."""

    __tablename__ = "choice_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("consent_entries.id"), index=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("data_systems.id"))
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # done, failed
    found: Mapped[int | None] = mapped_column()
    receipt: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    job_id: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    entry: Mapped[ConsentEntry] = relationship(back_populates="receipts")
    system: Mapped[DataSystem] = relationship()


class ChoiceLink(db.Model):
    """A one-time link to the preference centre, emailed to the person who asked: only its
    hash is kept; opening it once gives that browser an hour with the person's choices."""

    __tablename__ = "choice_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(db.Model):
    """Something that needs a staff member: a request waiting for approval or review, a
    failed system, an owner past due, a deadline near or passed. One row per person and
    (request, key), so each is sent once whatever the number of workers; `emailed_at` is
    set when it went out (at once or in a digest), `read_at` when they opened the list."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "request_id", "key"),
        Index("ix_notifications_user", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    key: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[Request] = relationship()


class Invitation(db.Model):
    """An admin's invitation to a new staff member: a one-time link to choose a password.
    Only the token's SHA-256 is kept; it works once (`used_at`) within
    dsar.services.invitations.VALID, and sending it again replaces it."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class RecoveryCode(db.Model):
    """One of a staff member's two-factor recovery codes, hashed with argon2 like a
    password; each signs in once, in place of a code from the app."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookEndpoint(db.Model):
    """An integrator's HTTPS address that hears of its API key's requests (the events it
    chose). The signing secret is kept sealed with a key derived from SECRET_KEY (see
    dsar.services.webhooks), never in clear, and shown once when the endpoint is added."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret_sealed: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    api_key: Mapped[ApiKey] = relationship()


class WebhookDelivery(db.Model):
    """One event for one endpoint: pending until a 2xx (delivered) or the last retry
    (failed). Holds the statuses of the event, never personal data; the answers' codes
    and errors in words, never their bodies. Its id is the Dsar-Delivery header."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event: Mapped[str] = mapped_column(String(48))
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    status_before: Mapped[str] = mapped_column(String(32), default="")
    status_after: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(String(200), default="")
    # Each try, oldest first (the last 20): {"at", "code", "error"}.
    tries: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    job_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()
    request: Mapped[Request] = relationship()
