"""Pages of the worklists app: My work and one item for everyone, queue management for supervisors."""

from django.urls import path

from worklists import views, views_queues

app_name = "worklists"

urlpatterns = [
    path("work/", views.my_work, name="my_work"),
    path("work/next/", views.take_next, name="take_next"),
    path("work/items/<uuid:reference>/", views.item_detail, name="item_detail"),
    path("work/items/<uuid:reference>/complete/", views.item_complete, name="item_complete"),
    path("work/items/<uuid:reference>/snooze/", views.item_snooze, name="item_snooze"),
    path("work/items/<uuid:reference>/release/", views.item_release, name="item_release"),
    path("work/items/<uuid:reference>/reassign/", views.item_reassign, name="item_reassign"),
    path("work/queues/", views_queues.queue_list, name="queue_list"),
    path("work/queues/new/", views_queues.queue_create, name="queue_create"),
    path("work/queues/refresh/", views_queues.refresh_now, name="refresh"),
    path("work/queues/<uuid:reference>/", views_queues.queue_detail, name="queue_detail"),
    path("work/queues/<uuid:reference>/edit/", views_queues.queue_edit, name="queue_edit"),
    path("work/queues/<uuid:reference>/members/", views_queues.member_add, name="member_add"),
    path(
        "work/queues/<uuid:reference>/members/<uuid:member_reference>/skills/",
        views_queues.member_skills,
        name="member_skills",
    ),
    path(
        "work/queues/<uuid:reference>/members/<uuid:member_reference>/remove/",
        views_queues.member_remove,
        name="member_remove",
    ),
    path("work/queues/<uuid:reference>/items/", views_queues.items_bulk, name="items_bulk"),
]
