"""Claims pages: urls_reconciliation."""

urlpatterns: list = []
