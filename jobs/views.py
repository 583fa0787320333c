from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from jobs.health import run_checks


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every check passes, 503 naming the ones that fail."""
    ok, report = run_checks()
    return JsonResponse(report, status=200 if ok else 503)
