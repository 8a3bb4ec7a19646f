"""Employer forms: input shape only; employers/actions.py enforces the rules."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from employers import selectors


class EmployerAuthenticationForm(AuthenticationForm):
    """The desk's sign-in for HR staff: the address in any capitals, and "not approved yet" for an account
    waiting for approval, said only to someone who typed its password (everyone else gets the usual
    "not right" answer, in the same time)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_approved": _(
            "Your organisation's account has not been approved yet. You will get an e-mail once the desk has "
            "approved it; then you can sign in."
        ),
    }

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()

    def get_invalid_login_error(self) -> ValidationError:
        username, password = self.cleaned_data.get("username") or "", self.cleaned_data.get("password") or ""
        if selectors.is_waiting_for_approval(username=username, password=password):
            return ValidationError(self.error_messages["not_approved"], code="not_approved")
        return super().get_invalid_login_error()


class SignUpForm(forms.Form):
    name = forms.CharField(label=_("Organisation name"), max_length=200)
    sponsor_number = forms.RegexField(
        label=_("KvK or IND sponsor number (optional)"),
        regex=r"^[0-9A-Za-z-]{0,20}$",
        max_length=20,
        required=False,
        error_messages={"invalid": _("Use only digits, letters and dashes (at most 20).")},
    )
    contact_name = forms.CharField(label=_("Your name"), max_length=120)
    email = forms.EmailField(
        label=_("Your work e-mail address"),
        max_length=254,
        help_text=_("You sign in with it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters; not a common password."),
    )
    password_again = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("Please give the organisation's name."))
        return name

    def clean_contact_name(self) -> str:
        name = " ".join(self.cleaned_data["contact_name"].split())
        if not name:
            raise forms.ValidationError(_("Please give your name."))
        return name

    def clean(self) -> dict:
        cleaned = super().clean()
        password, again = cleaned.get("password"), cleaned.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", _("The two passwords are not the same."))
        elif password:
            if len(password) < 12:
                self.add_error("password", _("Please use at least 12 characters."))
            else:
                try:
                    password_validation.validate_password(password)
                except forms.ValidationError as error:
                    self.add_error("password", error)
        return cleaned
