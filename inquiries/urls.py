"""Pages of the inquiries app."""

app_name = "inquiries"

urlpatterns: list = []
