from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.competitions.models import _localized
from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


class FileKind(StrEnum):
    """What the bytes are, decided from the content (competition.submissions.filetypes)."""

    PDF = "pdf"
    PPTX = "pptx"
    DOCX = "docx"
    XLSX = "xlsx"
    MP4 = "mp4"
    PNG = "png"
    JPEG = "jpeg"


KIND_LABELS = {
    FileKind.PDF: "PDF",
    FileKind.PPTX: "PowerPoint (.pptx)",
    FileKind.DOCX: "Word (.docx)",
    FileKind.XLSX: "Excel (.xlsx)",
    FileKind.MP4: "MP4",
    FileKind.PNG: "PNG",
    FileKind.JPEG: "JPEG",
}


class SubmissionState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


SUBMISSION_STATE_LABELS = {SubmissionState.DRAFT: _l("Draft"), SubmissionState.SUBMITTED: _l("Submitted")}


class VentureStage(StrEnum):
    IDEA = "idea"
    PROTOTYPE = "prototype"
    REGISTERED = "registered"
    REVENUE = "revenue"
    FUNDED = "funded"


STAGE_LABELS = {
    VentureStage.IDEA: _l("Idea"),
    VentureStage.PROTOTYPE: _l("Prototype or pilot"),
    VentureStage.REGISTERED: _l("Company registered"),
    VentureStage.REVENUE: _l("Earning revenue"),
    VentureStage.FUNDED: _l("Raised investment"),
}


class MaterialSlot(db.Model):
    """One thing a round asks of every team: the business plan, the slides, a video, attachments."""

    __tablename__ = "material_slots"
    __table_args__ = (
        UniqueConstraint("round_id", "code", name="uq_material_slots_round_code"),
        CheckConstraint("max_bytes > 0", name="max_bytes_positive"),
        CheckConstraint("max_files >= 1", name="max_files_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(32))
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(200))
    help_zh: Mapped[str] = mapped_column(Text, default="")
    help_en: Mapped[str] = mapped_column(Text, default="")
    #: FileKind values accepted here
    allowed_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_bytes: Mapped[int] = mapped_column(BigInteger)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    #: 1 for a single document (re-uploads are new versions); more for a set of attachments
    max_files: Mapped[int] = mapped_column(Integer, default=1)
    #: a video may be handed in as a link instead of a file
    allow_link: Mapped[bool] = mapped_column(Boolean, default=False)

    round = relationship("Round", back_populates="material_slots")

    @property
    def label(self) -> str:
        return _localized(self.label_zh, self.label_en)

    @property
    def help(self) -> str:
        return _localized(self.help_zh, self.help_en)

    @property
    def kinds(self) -> list[FileKind]:
        return [FileKind(kind) for kind in self.allowed_kinds]


class Submission(db.Model):
    """A team's submission for one round (at most one per team and round)."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("round_id", "team_id", name="uq_submissions_round_team"),
        CheckConstraint("state IN ('draft', 'submitted')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=SubmissionState.DRAFT.value)
    abstract: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(String(200), default="")
    industry: Mapped[str] = mapped_column(String(100), default="")
    stage: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    round = relationship("Round")
    team = relationship("Team")
    files: Mapped[list[SubmissionFile]] = relationship(
        back_populates="submission", order_by="SubmissionFile.id", cascade="all, delete-orphan"
    )

    @property
    def state_label(self) -> str:
        return str(SUBMISSION_STATE_LABELS[SubmissionState(self.state)])

    @property
    def is_submitted(self) -> bool:
        return self.state == SubmissionState.SUBMITTED

    def current_files(self, slot: MaterialSlot) -> list[SubmissionFile]:
        """What counts now for a slot: the newest upload of a single-document slot, or every
        attachment not removed; older versions stay in the history."""
        files = [item for item in self.files if item.slot_id == slot.id and item.removed_at is None]
        if slot.max_files == 1:
            return files[-1:]
        return files


class SubmissionFile(db.Model):
    """One uploaded version (or link) for a slot. Never deleted: a newer version supersedes it."""

    __tablename__ = "submission_files"
    __table_args__ = (CheckConstraint("(storage_key IS NULL) <> (link_url IS NULL)", name="file_or_link"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("material_slots.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str | None] = mapped_column(String(16))
    storage_key: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    link_url: Mapped[str | None] = mapped_column(String(500))
    #: the copy judges get in blind rounds (metadata removed), made on upload or on first need
    blind_key: Mapped[str | None] = mapped_column(String(100))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    upload_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the stored bytes were deleted under the competition's retention policy (competition.privacy);
    #: the row keeps the name, size and SHA-256
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    submission: Mapped[Submission] = relationship(back_populates="files")
    slot: Mapped[MaterialSlot] = relationship()
    uploaded_by = relationship("User")

    @property
    def is_link(self) -> bool:
        return self.link_url is not None

    @property
    def is_purged(self) -> bool:
        return self.purged_at is not None


class Extension(db.Model):
    """A later deadline for one team in one round, granted by an organizer with a reason."""

    __tablename__ = "extensions"
    __table_args__ = (UniqueConstraint("round_id", "team_id", name="uq_extensions_round_team"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    team = relationship("Team")
