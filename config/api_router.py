from django.urls import include, path

urlpatterns = [
    path("", include("staff.api.urls")),
]
