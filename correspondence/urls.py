from django.urls import path

from correspondence import views

app_name = "correspondence"

urlpatterns: list = []
