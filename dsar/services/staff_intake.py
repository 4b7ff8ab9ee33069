"""Requests that came by phone, letter, email or in person, recorded by an officer.

The law counts from the day a request reaches the company, whatever the door (GDPR
Art. 12(3) "without undue delay and in any event within one month of receipt of the
request"; CCPA Civ. Code 1798.130(a)(2) "within 45 days of receiving"; LGPD Art. 19 II): the
officer gives that day, with a reason when it is earlier than the day they record it, and
attaches the original. The deadline then runs from it, like any other request's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from dsar import inputs
from dsar.exceptions import IntakeRefused, ManualTaskRefused
from dsar.models import Request, User, utcnow
from dsar.services import intake, uploads
from dsar.services.events import record

CHANNELS = {
    "phone": "By phone",
    "letter": "By letter",
    "email": "By email (to a staff mailbox)",
    "in_person": "In person",
}
# A request older than this is almost certainly a typing mistake in the date.
OLDEST_DAYS = 366


@dataclass(frozen=True)
class Recorded:
    """How the request reached us, as the officer records it."""

    channel: str
    received_on: date | None
    reason: str = ""  # why the day of receipt is before today
    identity_checked: str = ""  # how the officer checked who it is from ("" = email them)
    files: list[uploads.Incoming] = field(default_factory=list)


def today() -> date:
    return datetime.now(ZoneInfo(current_app.config["DSAR_TIMEZONE"])).date()


def _received_at(day: date, now: datetime) -> datetime:
    """Today: now. An earlier day: its noon in the company's time zone (the day the deadline
    counts from is then that day, whatever the offset)."""
    zone = ZoneInfo(current_app.config["DSAR_TIMEZONE"])
    if day >= now.astimezone(zone).date():
        return now
    return datetime.combine(day, time(12), tzinfo=zone).astimezone(UTC)


def _text(value: str, field_name: str, *, multiline: bool) -> str:
    try:
        text = inputs.clean(value, multiline=multiline)
    except inputs.InputRefused as exc:
        raise IntakeRefused(exc.message, field=field_name) from None
    if len(text) > 1000:
        raise IntakeRefused("Keep this under 1,000 characters.", field=field_name)
    return text


def day_problems(day: date | None, reason: str) -> dict[str, str]:
    """What is wrong with the day of receipt and its reason, per field (empty: nothing)."""
    now_day = today()
    if day is None:
        return {"received_on": "Give the day the request reached us."}
    if day > now_day:
        return {"received_on": "The day of receipt cannot be in the future."}
    if day < now_day - timedelta(days=OLDEST_DAYS):
        return {"received_on": "That is more than a year ago; check the date."}
    if day < now_day and not reason.strip():
        return {
            "reason": "Say why the request is recorded after the day it reached us: the "
            "deadline runs from that day, and the history must explain it."
        }
    return {}


def _checked(rec: Recorded) -> tuple[date, str, str, list[tuple[uploads.Incoming, str]]]:
    if rec.channel not in CHANNELS:
        raise IntakeRefused("Choose how the request reached us.", field="channel")
    reason = _text(rec.reason, "reason", multiline=True)
    problems = day_problems(rec.received_on, reason)
    if problems or rec.received_on is None:
        field_name, message = next(iter(problems.items()))
        raise IntakeRefused(message, field=field_name)
    day = rec.received_on
    identity = _text(rec.identity_checked, "identity_checked", multiline=False)
    try:
        files = uploads.check(rec.files)
    except ManualTaskRefused as exc:
        raise IntakeRefused(exc.message, field="files") from None
    return day, reason, identity, files


def record_request(sub: intake.Submission, rec: Recorded, *, user: User) -> intake.Receipt:
    """Store the request as received on `rec.received_on`, with its original attached; then
    verify or start it as any request (the person is emailed unless the officer checked)."""
    day, reason, identity, files = _checked(rec)
    actor = f"user:{user.id}"

    def attach(req: Request) -> None:
        req.received_note = reason
        stored = uploads.store_correspondence(req, files, added_by=user.id)
        record(
            req,
            "recorded_by_staff",
            actor=actor,
            detail={
                "channel": rec.channel,
                "received_on": day.isoformat(),
                "reason": reason,
                "identity_checked": identity,
                "files": [{"name": f.original_name, "sha256": f.sha256} for f in stored],
            },
        )

    return intake.submit(
        sub,
        channel=rec.channel,
        now=_received_at(day, utcnow()),
        staff_actor=actor,
        vouched_by=actor if identity else None,
        before_start=attach,
    )
