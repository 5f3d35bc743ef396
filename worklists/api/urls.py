"""REST routes of the worklists app."""

urlpatterns: list = []
