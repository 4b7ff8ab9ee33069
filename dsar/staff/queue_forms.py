"""The queue's filters, read from the query string: shape only, no CSRF (a GET changes nothing).

The view turns the validated values into SQL; see `dsar.staff.queue_views`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, ValidationError
from wtforms.widgets import NumberInput

from dsar import inputs, rules, search_text
from dsar.forms import Form
from dsar.models import RequestKind, RequestStatus
from dsar.services.queue_query import SORTS, parse_cursor

MAX_DUE_WITHIN = 3650
SEARCH_HELP = "Keep the search under 254 characters."
DUE_WITHIN_HELP = f"Due within: give a whole number of days from 0 to {MAX_DUE_WITHIN:,}."
AFTER_HELP = "This page link is broken. Go back to the first page of the queue and try again."
ASSIGNEE_HELP = "Choose a staff member, “me” or “unassigned”."
WAITING_CHOICES = [
    SelectChoice("", "Anyone"),
    SelectChoice("officer", "An officer"),
    SelectChoice("person", "The person"),
    SelectChoice("owner", "A system owner"),
    SelectChoice("failed", "A failed system"),
    SelectChoice("systems", "Data systems at work"),
]
SORT_CHOICES = [
    SelectChoice("due", "Due date, soonest first"),
    SelectChoice("-due", "Due date, latest first"),
    SelectChoice("-received", "Received, newest first"),
    SelectChoice("received", "Received, oldest first"),
]


def status_label(status: RequestStatus) -> str:
    return status.value.replace("_", " ")


class QueueFilters(Form):
    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=[
            SelectChoice("", "Open"),
            SelectChoice("all", "Every status"),
            *(SelectChoice(s.value, status_label(s)) for s in RequestStatus),
        ],
        default="",
        invalid_choice_message="Choose a status from the list.",
    )
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice("", "Any kind"),
            *(SelectChoice(k.value, k.value.replace("_", " ")) for k in RequestKind),
        ],
        default="",
        invalid_choice_message="Choose a kind of request from the list.",
    )
    # Laws and staff are read when the form is built: `rules.configure` and new accounts
    # change them.
    regime = SelectField("Law", default="", invalid_choice_message="Choose a law from the list.")
    assignee = SelectField("Assignee", default="", validate_choice=False)
    due_within = StringField("Due within (days)", widget=NumberInput(min=0, max=MAX_DUE_WITHIN))
    overdue = BooleanField("Overdue only", false_values=("", "0", "false", "off"))
    waiting = SelectField(
        "Waiting on",
        choices=WAITING_CHOICES,
        default="",
        invalid_choice_message="Choose who the request waits on from the list.",
    )
    sort = SelectField(
        "Sort by",
        choices=SORT_CHOICES,
        default="due",
        invalid_choice_message="Choose an order from the list.",
    )
    q = StringField("Search", validators=[Length(max=254, message=SEARCH_HELP)])
    after = HiddenField()

    def __init__(self, *args: Any, staff: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.regime.choices = [
            SelectChoice("", "Any law"),
            *(SelectChoice(key, r.name) for key, r in rules.REGIMES.items()),
        ]
        self.assignee.choices = [
            SelectChoice("", "Anyone"),
            SelectChoice("me", "Me"),
            SelectChoice("none", "Unassigned"),
            *(SelectChoice(str(user_id), label) for user_id, label in staff),
        ]

    # -- field checks (WTForms calls validate_<name>) ---------------------------------

    def validate_assignee(self, field: SelectField) -> None:
        value = field.data or ""
        if value not in ("", "me", "none"):
            try:
                inputs.parse_id(value)
            except inputs.InputRefused:
                raise ValidationError(ASSIGNEE_HELP) from None

    def validate_due_within(self, field: StringField) -> None:
        value = (field.data or "").strip()
        if value:
            try:
                inputs.parse_count(value, maximum=MAX_DUE_WITHIN)
            except inputs.InputRefused:
                raise ValidationError(DUE_WITHIN_HELP) from None

    def validate_q(self, field: StringField) -> None:
        value = (field.data or "").strip()
        if value:
            try:
                search_text.words(value)
            except search_text.QueryRefused as exc:
                raise ValidationError(exc.message) from None

    def validate_after(self, field: HiddenField) -> None:
        if field.data and parse_cursor(self.sort_key, field.data) is None:
            raise ValidationError(AFTER_HELP)

    # -- the values the view uses -----------------------------------------------------

    @property
    def due_within_days(self) -> int | None:
        value = (self.due_within.data or "").strip()
        return inputs.parse_count(value, maximum=MAX_DUE_WITHIN) if value else None

    @property
    def assignee_id(self) -> int | None:
        """The chosen staff member's id; None for "", "me" and "none"."""
        value = self.assignee.data or ""
        return None if value in ("", "me", "none") else inputs.parse_id(value)

    @property
    def words(self) -> list[str] | None:
        """The search's words (dsar.search_text.words); None without a search."""
        value = (self.q.data or "").strip()
        return search_text.words(value) if value else None

    @property
    def sort_key(self) -> str:
        return self.sort.data if self.sort.data in SORTS else "due"

    @property
    def cursor(self) -> tuple[Any, int] | None:
        return parse_cursor(self.sort_key, self.after.data) if self.after.data else None

    def query_args(self) -> dict[str, str]:
        """The filters in force as query-string arguments, without the page position or any
        refused filter (links from a page that refused one lead to what it shows)."""
        args = {
            "status": self.status.data or "",
            "kind": self.kind.data or "",
            "regime": self.regime.data or "",
            "assignee": self.assignee.data or "",
            "due_within": (self.due_within.data or "").strip(),
            "overdue": "1" if self.overdue.data else "",
            "waiting": self.waiting.data or "",
            "q": (self.q.data or "").strip(),
            "sort": "" if self.sort_key == "due" else self.sort_key,
        }
        return {k: v for k, v in args.items() if v and not self[k].errors}
