"""allauth's own strings whose Chinese translation mixes in the English word "Email"
("验证您的Email地址"): the project's catalogue, which Django reads before allauth's,
translates them again in one language. Never called; listed for ``makemessages``.
Re-check this list when allauth is upgraded (``tests/config/test_translations.py``
fails on any allauth string still half in English)."""

from django.utils.translation import gettext_noop

ALLAUTH_MESSAGES = (
    gettext_noop("Username or email"),
    gettext_noop(
        "You cannot activate two-factor authentication until you have verified your email address."
    ),
    gettext_noop(
        "An account already exists with this email address. Please sign in to that account first, then connect your %s account."
    ),
    gettext_noop("Your account has no verified email address."),
    gettext_noop("Email Addresses"),
    gettext_noop("The following email addresses are associated with your account:"),
    gettext_noop("Primary"),
    gettext_noop("Re-send Verification"),
    gettext_noop("Add Email Address"),
    gettext_noop("Add Email"),
    gettext_noop("Do you really want to remove the selected email address?"),
    gettext_noop("Email Changed"),
    gettext_noop("Your email has been confirmed."),
    gettext_noop("Email Confirmation"),
    gettext_noop("Please Confirm Your Email Address"),
    gettext_noop("Email address %(deleted_email)s has been removed from your account."),
    gettext_noop("Email Removed"),
    gettext_noop("Email Address"),
    gettext_noop("Current email"),
    gettext_noop("Change Email"),
    gettext_noop("Confirm Email Address"),
    gettext_noop("You cannot remove your primary email address (%(email)s)."),
    gettext_noop("You have confirmed %(email)s."),
    gettext_noop("Removed email address %(email)s."),
    gettext_noop("Primary email address set."),
    gettext_noop("Verify Your Email Address"),
)
