"""REST routes of the inquiries app."""

urlpatterns: list = []
