"""The webhook endpoint form: shape only (dsar.services.webhooks checks the address)."""

from wtforms import SelectChoice, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from dsar.forms import Form
from dsar.services import webhook_events, webhooks


class WebhookForm(Form):
    url = StringField(
        "Endpoint address (HTTPS)",
        validators=[
            InputRequired("Give the endpoint's address, like https://crm.example.com/dsar-hook."),
            Length(
                max=webhooks.MAX_URL,
                message=f"Keep the address under {webhooks.MAX_URL:,} characters.",
            ),
        ],
    )
    events = SelectMultipleField(
        "Events to send",
        choices=[SelectChoice(name, words) for name, words in webhook_events.EVENTS.items()],
        default=[webhook_events.STATUS_CHANGED],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[InputRequired("Choose at least one event to send.")],
        invalid_choice_message="Choose from the listed events.",
    )
