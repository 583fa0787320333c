"""Admin: participants (tokens never shown), activities, runs with per-participant outcomes.

List views carry ids and counts, no names (PII). Tokens are never typed in here: each
participant shows a Strava connect link (sync.connect) to send to the athlete, and why the last
connect failed. Every "sync now" goes through the same unique job as the nightly run; "Run a
full sync now" is a button, so it is offered on an empty run list too. Starting a sync needs the
change permission (of participants, or of sync runs): a view-only login neither sees nor posts it.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from sync.connect import connect_link_token
from sync.models import Activity, Participant, SyncOutcome, SyncRun, SyncTrigger


def _enqueue(request: HttpRequest, modeladmin: admin.ModelAdmin, participant_ids: list[int] | None) -> None:
    from sync.tasks import sync_all_task

    res = sync_all_task.enqueue(participant_ids=participant_ids, trigger=SyncTrigger.MANUAL)
    if res.duplicate:
        modeladmin.message_user(
            request,
            f"A sync for these participants is already queued or ran within the hour "
            f"(job {res.job_id}); nothing new was started.",
            messages.WARNING,
        )
    else:
        modeladmin.message_user(request, f"Sync started as job {res.job_id}.", messages.SUCCESS)


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    fields = (
        "name",
        "active",
        "strava_connect_link",
        "athlete_id",
        "connected_at",
        "needs_reauth",
        "connect_error",
        "connect_error_at",
        "token_expires_at",
        "synced_through",
        "last_synced_at",
        "created_at",
    )
    list_display = (
        "id",
        "athlete_id",
        "active",
        "needs_reauth",
        "connect_problem",
        "token_expires_at",
        "last_synced_at",
    )
    list_filter = ("active", "needs_reauth")
    search_fields = ("=athlete_id", "=id")
    readonly_fields = (
        "strava_connect_link",
        "athlete_id",
        "connected_at",
        "connect_error",
        "connect_error_at",
        "token_expires_at",
        "synced_through",
        "last_synced_at",
        "created_at",
    )
    actions = ("sync_selected",)

    @admin.display(description="Strava connect link")
    def strava_connect_link(self, obj: Participant | None) -> str:
        if obj is None or obj.pk is None:
            return "Save the participant first; its connect link appears here."
        url = reverse("sync:strava-connect", args=[connect_link_token(participant=obj)])
        return format_html(
            '<a href="{}">{}</a><br><span class="help">Send this link to the athlete: it opens '
            "Strava's consent page (activity:read); the tokens are stored encrypted.</span>",
            url,
            "Connect with Strava" if not obj.refresh_token_encrypted or obj.needs_reauth else "Reconnect",
        )

    @admin.display(description="Strava")
    def connect_problem(self, obj: Participant) -> str:
        if obj.needs_reauth:
            return "reconnect needed (Strava refused the tokens)"
        if obj.connect_error:
            return obj.connect_error
        return "connected" if obj.refresh_token_encrypted else "not connected"

    @admin.action(description="Sync selected participants now", permissions=["change"])
    def sync_selected(self, request: HttpRequest, queryset: QuerySet[Participant]) -> None:
        _enqueue(request, self, sorted(queryset.values_list("pk", flat=True)))


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = (
        "external_id",
        "participant_id",
        "sport_type",
        "distance_m",
        "moving_time_s",
        "start_date",
    )
    list_filter = ("sport_type",)
    search_fields = ("=external_id", "=participant__id")
    date_hierarchy = "start_date"
    raw_id_fields = ("participant",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Activity | None = None) -> bool:
        return False


class SyncOutcomeInline(admin.TabularInline):
    model = SyncOutcome
    fields = (
        "participant_id",
        "state",
        "attempts",
        "fetched",
        "created",
        "updated",
        "unchanged",
        "invalid",
        "error",
        "job_id",
        "finished_at",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: SyncRun | None = None) -> bool:
        return False


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    # The counts two to a column, so the list fits beside the sidebar and filters at 1,280 px.
    list_display = (
        "id",
        "local_date",
        "trigger",
        "state",
        "started_at",
        "finished_at",
        "participants",
        "activities",
    )
    list_filter = ("state", "trigger")
    date_hierarchy = "started_at"
    inlines = (SyncOutcomeInline,)
    actions = ("sync_all_now",)

    @admin.display(description="Participants")
    def participants(self, obj: SyncRun) -> str:
        return (
            f"{obj.participants_succeeded} of {obj.participants_total} ok, {obj.participants_failed} failed"
        )

    @admin.display(description="Activities")
    def activities(self, obj: SyncRun) -> str:
        return f"{obj.activities_created} new, {obj.activities_updated} updated"

    def get_readonly_fields(self, request: HttpRequest, obj: SyncRun | None = None) -> list[str]:
        return [f.name for f in SyncRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.sync_now_view)
        return [path("sync-now/", view, name="sync_syncrun_sync_now"), *super().get_urls()]

    def sync_now_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):  # starting work is a change, not a view
            raise PermissionDenied
        _enqueue(request, self, None)
        return HttpResponseRedirect(reverse("admin:sync_syncrun_changelist"))

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        # "Run a full sync now" needs no selection (there may be no run to select yet).
        if (
            request.method == "POST"
            and request.POST.get("action") == "sync_all_now"
            and not request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        ):
            post = request.POST.copy()
            post.setlist(helpers.ACTION_CHECKBOX_NAME, ["0"])
            request.POST = post  # type: ignore[assignment]
        extra_context = {**(extra_context or {}), "may_sync": self.has_change_permission(request)}
        return super().changelist_view(request, extra_context)

    @admin.action(description="Run a full sync now (the nightly job; once per hour)", permissions=["change"])
    def sync_all_now(self, request: HttpRequest, queryset: QuerySet[SyncRun]) -> None:
        _enqueue(request, self, None)
