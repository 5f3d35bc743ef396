"""Claims API routes: urls_remittances."""

urlpatterns: list = []
