"""The SME's forms: apply for a product (under a separate consent to its bank), answer
the bank's question with files, withdraw, accept or decline a counter-offer.

The forms only parse: the product's ranges, the file types (sniffed from the bytes)
and every rule of the state machine are checked by the workflow and the services,
whose field errors the views put back on these forms.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.services import (
    DOCUMENT_MAX_BYTES,
    DOCUMENT_TYPES,
    DOCUMENTS_PER_ANSWER,
    NOTE_MAX_CHARS,
)

#: What the browser's file picker offers (the service still sniffs every file).
DOCUMENT_ACCEPT = ",".join([*DOCUMENT_TYPES, *DOCUMENT_TYPES.values()])


class ApplyForm(forms.Form):
    """Amount, term and purpose, and the SME's agreement to the authorization notice
    it was shown (``notice_sha256``: the fingerprint of exactly that text).
    ``idempotency_key`` is new on every rendering of the form, so a double click or
    a resubmitted page posts the same key and gets the same application."""

    amount = forms.DecimalField(
        label=_("Amount (CNY)"),
        max_digits=16,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    term = forms.IntegerField(
        label=_("Term (months)"),
        min_value=1,
        max_value=600,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    purpose = forms.CharField(
        label=_("What the loan is for"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: buying raw materials for an order, working capital."),
    )
    agree = forms.BooleanField(
        label=_("I have read and agree to this authorization"),
        required=True,
        error_messages={
            "required": _("Tick the box to confirm you have read the authorization.")
        },
    )
    # Both are written into the page by the view; missing only from a form that is
    # not ours or was tampered with.
    notice_sha256 = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64,
        error_messages={"required": _("The form expired; reload the page.")},
    )
    idempotency_key = forms.CharField(
        widget=forms.HiddenInput,
        max_length=100,
        error_messages={"required": _("The form expired; reload the page.")},
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern): a list of uploads."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": DOCUMENT_ACCEPT})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class _VersionedForm(forms.Form):
    """The version of the application the page showed: acting on a page that is out of
    date (the bank changed the offer meanwhile, say) is refused, not applied."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)


class AnswerForm(_VersionedForm):
    answer = forms.CharField(
        label=_("Your answer"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    documents = MultipleFileField(
        label=pgettext_lazy("application answer", "Documents"),
        required=False,
        help_text=_("Up to %(count)s files: PDF, JPEG or PNG, at most 10 MB each.")
        % {"count": DOCUMENTS_PER_ANSWER},
    )

    def clean_documents(self) -> list:
        files = self.cleaned_data.get("documents") or []
        # Count and size are checked before a byte is read; the type is sniffed from
        # the content by the service.
        if len(files) > DOCUMENTS_PER_ANSWER:
            raise ValidationError(
                _("At most %(count)s files.") % {"count": DOCUMENTS_PER_ANSWER}
            )
        for upload in files:
            if upload.size > DOCUMENT_MAX_BYTES:
                raise ValidationError(
                    _("%(name)s is larger than 10 MB.") % {"name": upload.name}
                )
        return files


class NoteForm(_VersionedForm):
    """Accepting or declining a counter-offer: an optional note to the bank."""

    note = forms.CharField(
        label=_("Note to the bank (optional)"),
        max_length=NOTE_MAX_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ConfirmForm(NoteForm):
    """An action that cannot be undone (withdrawing, declining the offer): the box
    must be ticked."""

    confirm = forms.BooleanField(
        label=_("Yes, I am sure. This cannot be undone."),
        required=True,
        error_messages={"required": _("Tick the box to confirm.")},
    )
