from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from accreditor.core.permissions import Role


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices():
    return [SelectChoice(r.value, r.label) for r in Role]  # lazy labels: translated at render


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=320)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=320)],
                       render_kw={"autocomplete": "username"})


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=1024)],
        description=_l("At least 12 characters. Long phrases of unrelated words work well."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class AcceptInvitationForm(NewPasswordForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"autocomplete": "name"})


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=320)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    roles = MultiCheckboxField(_l("Roles"), choices=role_choices(),
                               validators=[DataRequired(message=_l("Choose at least one role."))])
    cab_id = SelectField(_l("CAB (for CAB users only)"), coerce=_optional_int,
                         validators=[Optional()], validate_choice=False,
                         description=_l("A CAB user sees only this CAB's records."))


class MembershipForm(FlaskForm):
    roles = MultiCheckboxField(_l("Roles"), choices=role_choices(),
                               validators=[DataRequired(message=_l("Choose at least one role."))])
    is_active = BooleanField(_l("Access enabled"))
