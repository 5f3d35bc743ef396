from django.contrib import admin

from core.models import TimelineEvent


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "organization", "kind", "summary", "actor"]
    list_filter = ["kind"]
    list_select_related = ["organization", "actor"]
    show_full_result_count = False

    def get_queryset(self, request):
        from staff.models import Organization

        return (
            super()
            .get_queryset(request)
            .filter(organization__in=Organization.objects.visible_to(request.user))
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
