"""Claims pages: urls_claims."""

urlpatterns: list = []
