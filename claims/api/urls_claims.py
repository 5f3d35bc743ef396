"""Claims API routes: urls_claims."""

urlpatterns: list = []
