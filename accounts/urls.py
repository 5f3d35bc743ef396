from django.urls import path

from accounts import views
from accounts.import_urls import urlpatterns as import_patterns
from accounts.statement_urls import urlpatterns as statement_patterns

app_name = "accounts"

urlpatterns = [
    *statement_patterns,
    *import_patterns,
]
