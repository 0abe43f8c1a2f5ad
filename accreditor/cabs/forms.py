"""Forms of the staff CAB workspace. Rules (required values, country codes, duplicates) live in
``accreditor.cabs.services``; these forms only bound lengths and restrict choices."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from accreditor.cabs.models import LocationKind
from accreditor.scopes.models import IbType


def optional_int(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(label, max_len, **kw):
    return StringField(label, validators=[Optional(), Length(max=max_len)], **kw)


class CabForm(FlaskForm):
    legal_name = StringField(_l("Legal name"), validators=[Length(max=250)])
    trading_names = TextAreaField(_l("Trading names"), validators=[Length(max=4000)],
                                  description=_l("One per line."), render_kw={"rows": 3})
    registration_number = _text(_l("Company registration number"), 80)
    country = StringField(_l("Country"), validators=[Length(max=60)],
                          description=_l("Two-letter ISO code, e.g. GB."),
                          render_kw={"autocomplete": "country", "size": 4})
    website = _text(_l("Website"), 300, render_kw={"autocomplete": "url"})
    related_bodies = TextAreaField(
        _l("Related bodies"), validators=[Optional(), Length(max=4000)], render_kw={"rows": 3},
        description=_l("Owners, subsidiaries and other bodies linked to the CAB (impartiality)."))
    consultants_used = TextAreaField(
        _l("Consultants used"), validators=[Optional(), Length(max=4000)], render_kw={"rows": 3},
        description=_l("Consultancies that helped the CAB prepare (assessor conflicts of interest)."))
    manager_id = SelectField(_l("Accreditation manager"), coerce=optional_int,
                             validators=[Optional()])


class LocationForm(FlaskForm):
    code = StringField(_l("Code"), validators=[Length(max=10)],
                       description=_l("As used on the schedule, e.g. A or LAB2. P and O are "
                                      "reserved."), render_kw={"size": 10})
    name = StringField(_l("Name"), validators=[Length(max=200)])
    address = TextAreaField(_l("Address"), validators=[Length(max=2000)], render_kw={"rows": 3})
    country = StringField(_l("Country"), validators=[Length(max=60)],
                          description=_l("Two-letter ISO code, e.g. GB."), render_kw={"size": 4})
    activities = TextAreaField(_l("Activities at this location"),
                               validators=[Optional(), Length(max=4000)], render_kw={"rows": 3})
    kind = SelectField(_l("Kind of location"), default=LocationKind.permanent.value, choices=[
        SelectChoice(LocationKind.permanent.value, _l("Permanent")),
        SelectChoice(LocationKind.site.value, _l("Site (at the customer)")),
        SelectChoice(LocationKind.mobile.value, _l("Mobile")),
        SelectChoice(LocationKind.virtual.value, _l("Virtual")),
    ])
    is_critical = BooleanField(_l("Critical location (key activities are carried out here)"))
    is_active = BooleanField(_l("Active"), default=True)


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)],
                       render_kw={"autocomplete": "off"})
    position = _text(_l("Position"), 120)
    email = EmailField(_l("E-mail"), validators=[Optional(), Email(), Length(max=320)],
                       render_kw={"autocomplete": "off"})
    phone = _text(_l("Phone"), 60)
    is_public = BooleanField(_l("Show in the public directory"))


class OpenAccreditationForm(FlaskForm):
    programme = SelectField(_l("Programme"), coerce=optional_int,
                            validators=[DataRequired(message=_l("Choose a programme."))])
    ib_type = SelectField(_l("Inspection body type"), validators=[Optional()],
                          description=_l("Inspection bodies (ISO/IEC 17020) only."),
                          choices=[SelectChoice("", _l("— not an inspection body —"))]
                          + [SelectChoice(t.value, t.value) for t in IbType])


class CabFilterForm(FlaskForm):
    """The CAB list's filters: a GET form, so every filtered list has a shareable address."""

    class Meta:
        csrf = False

    q = StringField(_l("Legal or trading name"), validators=[Optional(), Length(max=200)])
    programme = SelectField(_l("Programme"), validators=[Optional()])
    status = SelectField(_l("Accreditation status"), validators=[Optional()])
    country = SelectField(_l("Country"), validators=[Optional()])
    manager = SelectField(_l("Manager"), validators=[Optional()])

    FILTERS = ("q", "programme", "status", "country", "manager")

    def active(self) -> dict[str, str]:
        """The filters in use, as URL arguments (for the pager)."""
        return {name: str(getattr(self, name).data) for name in self.FILTERS
                if getattr(self, name).data not in (None, "")}
