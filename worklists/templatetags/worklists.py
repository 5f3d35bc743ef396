"""``{% work_items_for subject %}``: the live work items about a record, for its page (one query)."""

from __future__ import annotations

from typing import Any

from django import template

from worklists.models import WorkItem

register = template.Library()


@register.inclusion_tag("worklists/_subject_work.html")
def work_items_for(subject: Any) -> dict[str, Any]:
    items = list(
        WorkItem.objects.about(subject)
        .live()
        .select_related("assignee")
        .order_by("-priority", "due_at", "id")[:10]
    )
    return {"items": items}
