from django.urls import path

from payers import views

app_name = "payers"

urlpatterns: list = []
