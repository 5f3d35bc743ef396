"""Claims API routes: urls_reconciliation."""

urlpatterns: list = []
