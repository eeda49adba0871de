"""The scoring app's pages: the SME's score and reasons, the operator's model registry,
model reports and drift. Its services never take a request; these views parse it,
call one service or selector and render."""

from __future__ import annotations

import mimetypes
import posixpath

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import operator_membership, signed_in_user
from borrowers import selectors as borrower_selectors
from borrowers.exceptions import ConsentRequired
from core.exceptions import TooSoon
from creditdata import selectors as creditdata_selectors
from creditdata.models import IngestionStatus
from scoring import drift, selectors, services
from scoring.models import CreditScore, ModelVersion

REPORT_FILES = {
    "report.html",
    "roc.png",
    "ks.png",
    "calibration.png",
    "score_distribution.png",
    "feature_importance.png",
}


@login_required
def my_score(request: HttpRequest) -> HttpResponse:
    enterprise = borrower_selectors.enterprise_for_user(user=signed_in_user(request))
    if enterprise is None:
        raise Http404(_("You do not belong to a registered enterprise."))
    scores = CreditScore.objects.filter(enterprise=enterprise).select_related(
        "model_version", "feature_vector__feature_set"
    )
    return render(
        request,
        "scoring/my_score.html",
        {
            "enterprise": enterprise,
            "latest": scores.first(),
            "history": scores[:12],
            **_progress_context(enterprise),
        },
    )


#: How often the progress panel asks again while a pull or its score is pending.
PROGRESS_POLL_SECONDS = 2


def _progress_context(enterprise) -> dict:
    """The newest pull's progress by category, then whether its score is made."""
    run = creditdata_selectors.enterprise_runs(enterprise=enterprise).first()
    score = selectors.latest_score(enterprise_pk=enterprise.pk)
    scored = bool(
        run is not None
        and score is not None
        and run.finished_at is not None
        and score.created_at >= run.finished_at
    )
    pulling = run is not None and run.status in (
        IngestionStatus.PENDING,
        IngestionStatus.RUNNING,
    )
    awaiting_score = bool(
        run is not None
        and run.status == IngestionStatus.SUCCEEDED
        and not scored
        and selectors.champion_exists()
    )
    done = len(run.category_results) if run is not None else 0
    total = len(run.categories) if run is not None else 0
    return {
        "run": run,
        "score": score if scored else None,
        "pulling": pulling,
        "awaiting_score": awaiting_score,
        "done": done,
        "total": total,
        "percent": round(100 * done / total) if total else 0,
        "poll_seconds": PROGRESS_POLL_SECONDS if pulling or awaiting_score else 0,
    }


@login_required
def data_progress(request: HttpRequest) -> HttpResponse:
    """The owner's panel "your data and your score": the newest pull's progress by
    category, then its score. Loaded and refreshed by htmx every few seconds while
    the pull runs or its score is pending; it stops asking once both are done."""
    enterprise = borrower_selectors.enterprise_for_user(user=signed_in_user(request))
    if enterprise is None:
        raise Http404(_("You do not belong to a registered enterprise."))
    return render(request, "scoring/_data_progress.html", _progress_context(enterprise))


@login_required
@require_POST
def score_now(request: HttpRequest) -> HttpResponse:
    enterprise = borrower_selectors.enterprise_for_user(user=signed_in_user(request))
    if enterprise is None:
        raise Http404(_("You do not belong to a registered enterprise."))
    try:
        services.enterprise_score_now(
            enterprise=enterprise, requested_by=signed_in_user(request)
        )
    except TooSoon as error:
        messages.warning(request, error.message)
    except ConsentRequired:
        messages.error(
            request, _("Authorize the platform to use your data for scoring first.")
        )
        return redirect("creditdata:consent_new")
    except services.NoChampion:
        messages.error(
            request, _("Scoring is not available yet: no model has been approved.")
        )
    return redirect("scoring:my_score")


@login_required
def model_list(request: HttpRequest) -> HttpResponse:
    operator_membership(request)
    return render(
        request,
        "scoring/models.html",
        {"models": ModelVersion.objects.select_related("promoted_by")},
    )


@login_required
@require_POST
def model_promote(request: HttpRequest, pk: int) -> HttpResponse:
    operator_membership(request)
    model = get_object_or_404(ModelVersion, pk=pk)
    services.model_promote(model=model, promoted_by=signed_in_user(request))
    messages.success(
        request,
        _("Model %(version)s is now the champion.") % {"version": model.version},
    )
    return redirect("scoring:models")


@login_required
def model_report_file(request: HttpRequest, pk: int, name: str) -> FileResponse:
    operator_membership(request)
    model = get_object_or_404(ModelVersion, pk=pk)
    if name not in REPORT_FILES or not model.report.name:
        raise Http404(_("No such report file."))
    path = posixpath.join(posixpath.dirname(model.report.name), name)
    if not default_storage.exists(path):
        raise Http404(_("No such report file."))
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(default_storage.open(path, "rb"), content_type=content_type)


@login_required
def model_drift(request: HttpRequest, pk: int) -> HttpResponse:
    operator_membership(request)
    model = get_object_or_404(ModelVersion, pk=pk)
    return render(
        request,
        "scoring/drift.html",
        {
            "model": model,
            "drift": drift.model_drift(model),
            "watch": drift.WATCH,
            "alert": drift.ALERT,
        },
    )
