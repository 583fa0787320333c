"""Admin: participants (tokens never shown), activities, runs with per-participant outcomes.

List views carry ids and counts, no names (PII). Both "sync now" actions go through the same
unique job as the nightly run.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest

from sync.models import Activity, Participant, SyncOutcome, SyncRun, SyncTrigger


class ParticipantForm(forms.ModelForm):
    """Tokens are write-only: typing one replaces it, leaving it blank keeps the stored one."""

    new_access_token = forms.CharField(
        required=False, widget=forms.PasswordInput, label="Replace access token"
    )
    new_refresh_token = forms.CharField(
        required=False, widget=forms.PasswordInput, label="Replace refresh token"
    )

    class Meta:
        model = Participant
        fields = ("name", "athlete_id", "active", "needs_reauth", "token_expires_at")

    def save(self, commit: bool = True) -> Participant:
        obj = super().save(commit=False)
        if self.cleaned_data.get("new_access_token"):
            obj.access_token = self.cleaned_data["new_access_token"]
        if self.cleaned_data.get("new_refresh_token"):
            obj.refresh_token = self.cleaned_data["new_refresh_token"]
            obj.needs_reauth = False
        if commit:
            obj.save()
        return obj


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
    form = ParticipantForm
    list_display = ("id", "athlete_id", "active", "needs_reauth", "token_expires_at", "last_synced_at")
    list_filter = ("active", "needs_reauth")
    search_fields = ("=athlete_id", "=id")
    readonly_fields = ("synced_through", "last_synced_at", "created_at")
    actions = ("sync_selected",)

    @admin.action(description="Sync selected participants now")
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
    list_display = (
        "id",
        "local_date",
        "trigger",
        "state",
        "started_at",
        "finished_at",
        "participants_total",
        "participants_succeeded",
        "participants_failed",
        "activities_created",
        "activities_updated",
    )
    list_filter = ("state", "trigger")
    date_hierarchy = "started_at"
    inlines = (SyncOutcomeInline,)
    actions = ("sync_all_now",)

    def get_readonly_fields(self, request: HttpRequest, obj: SyncRun | None = None) -> list[str]:
        return [f.name for f in SyncRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        # "Run a full sync now" needs no selection (there may be no run to select yet).
        if (
            request.method == "POST"
            and request.POST.get("action") == "sync_all_now"
            and not request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        ):
            post = request.POST.copy()
            post.setlist(helpers.ACTION_CHECKBOX_NAME, ["0"])
            request.POST = post
        return super().changelist_view(request, extra_context)

    @admin.action(description="Run a full sync now (the nightly job; once per hour)")
    def sync_all_now(self, request: HttpRequest, queryset: QuerySet[SyncRun]) -> None:
        _enqueue(request, self, None)
